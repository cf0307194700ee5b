"""Run every benchmark section and print one table of issue targets.

Usage:
    python -m benchmarks.run            # full run
    python -m benchmarks.run --quick    # smaller sizes, fewer repeats
    python -m benchmarks.run proxy file # only some sections
    python -m benchmarks.run --plot DIR # also PNG charts of the ratios
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback

from benchmarks.common import Row

SECTIONS = [
    'proxy',
    'store',
    'shm',
    'redis',
    'endpoint',
    'reliability',
    'p2p',
    'relay',
]


def format_table(rows: list[Row]) -> str:
    """Render rows as a Markdown table."""
    lines = [
        '| section | measurement | value | target | ok | detail |',
        '| --- | --- | ---: | --- | --- | --- |',
    ]
    for row in rows:
        ok = '' if row.ok is None else ('yes' if row.ok else 'NO')
        value = f'{row.value:,.2f} {row.unit}'.strip()
        lines.append(
            f'| {row.section} | {row.name} | {value} | {row.target} '
            f'| {ok} | {row.detail} |',
        )
    return '\n'.join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the selected sections and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('sections', nargs='*', default=SECTIONS)
    parser.add_argument('--quick', action='store_true')
    parser.add_argument(
        '--plot',
        metavar='DIR',
        help="also write a PNG chart of each section's ratios into DIR",
    )
    args = parser.parse_args(argv)

    rows: list[Row] = []
    for section in args.sections:
        try:
            module = importlib.import_module(f'benchmarks.bench_{section}')
        except ModuleNotFoundError as e:
            print(f'[skip] {section}: {e}', file=sys.stderr)
            continue
        try:
            rows.extend(module.run(quick=args.quick))
        except Exception:
            print(f'[fail] {section}:', file=sys.stderr)
            traceback.print_exc()
        print(format_table(rows), file=sys.stderr)
    print(format_table(rows))
    if args.plot:
        from benchmarks.plot import plot_rows

        for path in plot_rows(rows, args.plot):
            print(f'[plot] {path}', file=sys.stderr)
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
