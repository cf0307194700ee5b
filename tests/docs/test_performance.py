"""`python -m benchmarks.run --plot DIR` writes the charts the docs show."""

from __future__ import annotations

import pathlib
import sys
import types

import pytest

from benchmarks.common import Row
from tests.helpers.docs import DOCS

pytest.importorskip('matplotlib')

PNG = b'\x89PNG\r\n\x1a\n'

ROWS = [
    Row('alpha', 'fast path', 1.2, 'x', '<= 1.5x baseline', True),
    Row('alpha', 'slow path', 3.0, 'x', '<= 2x baseline', False),
    Row('alpha', 'throughput', 1e6, 'ops/s'),
    Row('beta', 'spread', 0.05, 'x'),
    Row('beta', 'wide spread', 120.0, 'x', 'report'),
]


def test_target_limit() -> None:
    from benchmarks.plot import target_limit

    assert target_limit('<= 1.5x memcpy') == 1.5
    assert target_limit('<= 2x') == 2.0
    assert target_limit('report') is None
    assert target_limit('>= 5,000 ops/s') is None


def test_plot_rows_writes_one_png_per_section(tmp_path: pathlib.Path) -> None:
    from benchmarks.plot import plot_rows

    written = plot_rows(ROWS, tmp_path / 'charts')
    assert [pathlib.Path(p).name for p in written] == [
        'bench-alpha.png',
        'bench-beta.png',
    ]
    for path in written:
        data = pathlib.Path(path).read_bytes()
        assert data.startswith(PNG)
        assert 2_000 < len(data) < 300_000


def test_charts_leave_floor_rows_to_the_table() -> None:
    from benchmarks.plot import ratio_rows

    floor = Row('alpha', 'floor: the bare operation elsewhere', 3.7, 'x')
    assert ratio_rows([*ROWS, floor])['alpha'] == ROWS[:2]


def test_plot_skips_sections_without_ratios(tmp_path: pathlib.Path) -> None:
    from benchmarks.plot import plot_rows

    assert plot_rows([Row('gamma', 'size', 171, 'bytes')], tmp_path) == []
    assert list(tmp_path.iterdir()) == []


def test_run_plot_option(
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from benchmarks import run

    # A stand-in benchmark section: the thing under test is the runner's
    # --plot path, not a benchmark.
    section = types.ModuleType('benchmarks.bench_docs_demo')
    section.run = lambda quick: ROWS[:2]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, 'benchmarks.bench_docs_demo', section)
    assert run.main(['--quick', '--plot', str(tmp_path), 'docs_demo']) == 0
    out, err = capsys.readouterr()
    assert '| alpha | fast path | 1.20 x |' in out
    chart = tmp_path / 'bench-alpha.png'
    assert f'[plot] {chart}' in err
    assert chart.read_bytes().startswith(PNG)


def test_committed_charts_are_pngs_the_page_shows() -> None:
    page = (DOCS / 'performance.md').read_text()
    charts = sorted((DOCS / 'images').glob('bench-*.png'))
    assert len(charts) >= 5
    for chart in charts:
        assert chart.read_bytes().startswith(PNG)
        assert chart.stat().st_size < 300_000
        assert f'](images/{chart.name})' in page
    # The page pastes a benchmark table.
    assert '| section | measurement | value | target | ok | detail |' in page
