"""Bounded load, kill and restart tests of every connector (issue 12).

Small versions of the scenarios in `harness` (see there for what `lost`,
`corrupt` and `leftovers` mean); `python -m benchmarks.run reliability`
runs the full-size ones and prints their figures.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterator
from typing import Any

import pytest

from tests.reliability.harness import Medium
from tests.reliability.harness import endpoint_medium
from tests.reliability.harness import file_medium
from tests.reliability.harness import redis_medium
from tests.reliability.harness import run_kills
from tests.reliability.harness import run_load
from tests.reliability.harness import run_restart
from tests.reliability.harness import shm_medium

MEDIA = ['local', 'file', 'shm', 'redis', 'endpoint']
LISTABLE = {'file', 'shm', 'redis'}


@pytest.fixture(params=MEDIA)
def medium(
    request: pytest.FixtureRequest,
    tmp_path: pathlib.Path,
) -> Iterator[Medium]:
    name = request.param
    if name == 'local':
        pytest.skip(
            'LocalConnector is process-local: no other process can reach '
            'its objects, and they die with their process',
        )
    if name == 'file':
        with file_medium(str(tmp_path / 'store')) as medium:
            yield medium
    elif name == 'shm':
        directory = request.getfixturevalue('shm_test_dir')
        with shm_medium(directory) as medium:
            yield medium
    elif name == 'redis':
        server = request.getfixturevalue('redis_server')
        with redis_medium(server) as medium:
            yield medium
    else:
        config = request.getfixturevalue('shared_endpoint')
        home = request.getfixturevalue('endpoint_home')
        with endpoint_medium(home, config.uuid) as medium:
            yield medium


def _clean(report: Any) -> None:
    assert report.messages == []
    assert (report.errors, report.lost, report.corrupt) == (0, 0, 0)


@pytest.mark.timeout(120)
def test_concurrent_processes_with_checksums(medium: Medium) -> None:
    # 3 processes x 12 puts of 200 KiB (and the gets and evictions).
    report = run_load(medium, processes=3, ops=12, size=200 << 10)
    _clean(report)
    assert report.ops >= 3 * 12 * 2
    if medium.name in LISTABLE:
        assert report.leftovers == 0


@pytest.mark.timeout(120)
def test_sigkill_mid_put_loses_and_corrupts_nothing(medium: Medium) -> None:
    # Issue 12: killed File writers left `.tmp-` files that only `clear`
    # removed; the shm connector left segments until its namespace was
    # cleared. Now a fresh connector sweeps them when it opens. Killed
    # Redis writers left a `<key>::partial` list per chunked put; now the
    # chunks go in one transaction that the server drops with the writer.
    report = run_kills(medium, kills=2, size=24 << 20)
    _clean(report)
    if medium.name in LISTABLE:
        assert report.leftovers == 0


@pytest.mark.timeout(120)
@pytest.mark.parametrize('kill', [False, True], ids=['shutdown', 'sigkill'])
def test_redis_restart(kill: bool) -> None:
    from tests.fixtures.redis import SESSION_SERVER_OPTIONS
    from tests.fixtures.redis import redis_server_in_tmpdir

    options = () if kill else ('--appendonly', 'yes')
    with redis_server_in_tmpdir(*SESSION_SERVER_OPTIONS, *options) as server:
        with redis_medium(server) as medium:
            report = run_restart(medium, objects=6, size=3 << 20, kill=kill)
    assert report.messages == []
    assert report.corrupt == 0
    assert report.errors == 0
    if not kill:  # a clean shutdown persists everything
        assert report.lost == 0
