"""The README's first command runs examples/quickstart.py; keep it working."""

from __future__ import annotations

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
