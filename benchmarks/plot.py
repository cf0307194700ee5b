"""Charts of the benchmark table's ratio rows (PNG files, matplotlib Agg).

One chart per section: a horizontal bar per ratio row (``unit == 'x'``),
green when the row meets its target, red when it does not, grey for
report-only rows, with a dashed line at the target limit when the row's
target reads ``<= N x ...``. Used by ``python -m benchmarks.run --plot DIR``;
the documentation's performance page shows the charts.
"""

from __future__ import annotations

import pathlib
import re
import textwrap

from benchmarks.common import Row

_LIMIT = re.compile(r'<=\s*([0-9.]+)\s*x')
_COLOURS = {True: '#2e7d32', False: '#c62828', None: '#78909c'}


def target_limit(target: str) -> float | None:
    """The `N` of a target of the form `<= Nx ...`, else None."""
    found = _LIMIT.search(target)
    return float(found.group(1)) if found else None


def ratio_rows(rows: list[Row]) -> dict[str, list[Row]]:
    """The ratio rows grouped by section, in table order.

    `floor:` rows, which only calibrate the others, stay in the table.
    """
    sections: dict[str, list[Row]] = {}
    for row in rows:
        if row.unit == 'x' and not row.name.startswith('floor:'):
            sections.setdefault(row.section, []).append(row)
    return sections


def plot_section(section: str, rows: list[Row], path: pathlib.Path) -> None:
    """Write one section's chart to `path`."""
    import matplotlib

    matplotlib.use('Agg')
    from matplotlib import pyplot
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    labels = [textwrap.fill(row.name, 52) for row in rows]
    height = 1.6 + 0.3 * sum(label.count('\n') + 1 for label in labels)
    figure, axes = pyplot.subplots(figsize=(9, max(2.2, height)))
    try:
        positions = list(range(len(rows)))
        axes.barh(
            positions,
            [row.value for row in rows],
            color=[_COLOURS[row.ok] for row in rows],
            height=0.6,
        )
        for position, row in zip(positions, rows, strict=True):
            axes.annotate(
                f' {row.value:.2f}x',
                (row.value, position),
                va='center',
                fontsize=9,
            )
            limit = target_limit(row.target)
            if limit is not None:
                axes.plot(
                    [limit, limit],
                    [position - 0.4, position + 0.4],
                    color='black',
                    linestyle='--',
                    linewidth=1.5,
                )
        axes.set_yticks(positions, labels, fontsize=9)
        axes.invert_yaxis()
        axes.axvline(1.0, color='#90a4ae', linewidth=0.8)
        right = max(
            [row.value for row in rows]
            + [target_limit(row.target) or 0 for row in rows],
        )
        values = [row.value for row in rows if row.value > 0]
        if values and max(values) / min(values) > 30:
            # Ratios over orders of magnitude: a log axis keeps the small
            # ones readable.
            axes.set_xscale('log')
            axes.set_xlim(min(values) / 1.5, right * 2.5)
        else:
            axes.set_xlim(0, right * 1.18)
        axes.set_xlabel('ratio against the physical limit (1 = the limit)')
        axes.set_title(section, fontsize=11)
        figure.legend(
            handles=[
                Patch(color=_COLOURS[True], label='meets its target'),
                Patch(color=_COLOURS[False], label='misses its target'),
                Patch(color=_COLOURS[None], label='report only'),
                Line2D([], [], color='black', linestyle='--', label='target'),
            ],
            fontsize=8,
            loc='lower center',
            ncol=4,
            frameon=False,
        )
        figure.tight_layout(rect=(0, 0.55 / figure.get_figheight(), 1, 1))
        figure.savefig(path, dpi=80)
    finally:
        pyplot.close(figure)


def plot_rows(rows: list[Row], directory: str | pathlib.Path) -> list[str]:
    """Write `bench-<section>.png` into `directory` for each section.

    Args:
        rows: Rows of a benchmark run.
        directory: Output folder (created if missing).

    Returns:
        The written file paths.
    """
    out = pathlib.Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for section, section_rows in ratio_rows(rows).items():
        path = out / f'bench-{section}.png'
        plot_section(section, section_rows, path)
        written.append(str(path))
    return written
