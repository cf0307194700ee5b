"""The examples of docs/globus.md work (Globus is simulated, see fixtures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from proxystore.connectors.globus import GlobusEndpoints
from tests.fixtures.globus import GlobusSimulation
from tests.fixtures.globus import site_endpoints
from tests.helpers.docs import doc_blocks

pytestmark = pytest.mark.timeout(60)


def test_endpoints_file_example() -> None:
    (block,) = doc_blocks('globus.md', 'json')
    endpoints = GlobusEndpoints.from_dict(json.loads(block))
    assert len(endpoints) == 2
    site_a, site_b = list(endpoints)
    assert endpoints.get_by_host('login3.site-a.org') is site_a
    assert endpoints.get_by_host('compute-17.site-b.org') is site_b
    with pytest.raises(ValueError, match='Cannot find endpoint'):
        endpoints.get_by_host('login3.site-a.org.evil')


def test_connector_example(
    globus_sim: GlobusSimulation,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (block,) = doc_blocks('globus.md')
    monkeypatch.chdir(tmp_path)
    endpoints = site_endpoints(globus_sim)
    Path('globus-endpoints.json').write_text(json.dumps(endpoints))
    namespace: dict[str, Any] = {'my_object': {'answer': 42}}
    exec(compile(block, 'docs/globus.md', 'exec'), namespace)
    transfers = [
        b for b in globus_sim.submitted if b['DATA_TYPE'] == 'transfer'
    ]
    assert len(transfers) == 1
    # close() (leaving the with block) cleared both sites.
    for root in globus_sim.roots.values():
        assert not (root / 'proxystore').exists()
