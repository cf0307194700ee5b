"""The README's first command runs examples/quickstart.py; keep it working."""

from __future__ import annotations

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_quickstart_demo_runs() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / 'examples' / 'quickstart.py')],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # Workers received proxies and resolved them to the right objects.
    assert "worker got a Proxy of dict keys=['epochs', 'lr', 'model']" in out
    expected = 'worker got a Proxy of array shape=(13107200,) sum=13107200.0'
    assert expected in out
    # The proxy line shows a small pickled size next to the 100 MB object.
    array_line = next(x for x in out.splitlines() if x.startswith('array'))
    sizes = [int(s.replace(',', '')) for s in array_line.split()[1::2]]
    assert sizes[0] > 100_000_000
    assert sizes[1] <= 400
