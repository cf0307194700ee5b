"""The README's first command runs examples/quickstart.py; keep it working."""

from __future__ import annotations

import contextlib
import os
import pathlib
import subprocess
import sys

import pytest

from tests.helpers.docs import ROOT
from tests.helpers.scripts import run_python


def test_quickstart_demo_runs() -> None:
    out = run_python(ROOT / 'examples' / 'quickstart.py').stdout
    # Workers received proxies and resolved them to the right objects.
    assert "worker got a Proxy of dict keys=['epochs', 'lr', 'model']" in out
    expected = 'worker got a Proxy of array shape=(13107200,) sum=13107200.0'
    assert expected in out
    # The proxy line shows a small pickled size next to the 100 MB object.
    array_line = next(x for x in out.splitlines() if x.startswith('array'))
    sizes = [int(s.replace(',', '')) for s in array_line.split()[1::2]]
    assert sizes[0] > 100_000_000
    assert sizes[1] <= 400


def _kill_processes_under(directory: pathlib.Path) -> None:
    """Kill leftover processes whose command line mentions `directory`."""
    import psutil

    for process in psutil.process_iter(['cmdline']):
        if str(directory) in ' '.join(process.info['cmdline'] or ()):
            with contextlib.suppress(psutil.Error):
                process.kill()


@pytest.mark.timeout(180)
def test_parsl_example_runs_on_local_htex(tmp_path: pathlib.Path) -> None:
    pytest.importorskip('parsl')
    # Real HighThroughputExecutor workers on loopback, started with this
    # interpreter: no console script is looked up on PATH.
    env = {'TMPDIR': str(tmp_path), 'PATH': os.defpath}
    try:
        out = run_python(
            ROOT / 'examples' / 'parsl_htex.py',
            cwd=tmp_path,
            env=env,
            timeout=150,
        ).stdout
    finally:
        _kill_processes_under(tmp_path)
    assert 'worker got a Proxy with 100000 rows, total 4999950000' in out
    assert 'result is a Proxy: sum=14999850000' in out
    object_size, proxy_size = (
        int(word.replace(',', ''))
        for word in out.splitlines()[0].split()
        if word[0].isdigit()
    )
    assert object_size > 300_000
    assert proxy_size <= 400


@pytest.mark.timeout(180)
def test_suite_parts_pass_without_scripts_on_path(
    tmp_path: pathlib.Path,
) -> None:
    # The console scripts and the test suite run through this interpreter
    # alone: nothing relies on the environment's bin folder being on PATH.
    env = {**os.environ, 'PATH': os.defpath, 'PYTHONPATH': str(ROOT)}
    for module in ('proxystore.endpoint.cli', 'proxystore.p2p.relay.run'):
        result = subprocess.run(
            [sys.executable, '-m', module, '--help'],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert 'Usage:' in result.stdout or 'usage:' in result.stdout
    selected = [
        'tests/endpoint/test_cli.py::test_console_script_installed',
        'tests/test_readme.py::test_file_connector_block',
        'tests/docs/test_pages.py::test_endpoint_cli_block_runs',
    ]
    result = subprocess.run(
        [sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider']
        + ['--basetemp', str(tmp_path / 'basetemp'), *selected],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert '3 passed' in result.stdout
