"""Reliability under load, kills and restarts, per connector (issue 12).

The full-size versions of the scenarios in `tests/reliability/harness.py`:

- load: P spawned processes x M puts of S bytes, each read back and
  checked against its SHA-256 (every third object evicted again), then
  every object left stored is checked by the parent;
- SIGKILL mid-put: K writers of large objects, each killed at a random point
  of a put after one completed put; then every stored object is checked and
  the medium is listed after a fresh connector opened (its sweep);
- broker restart: Redis shut down cleanly (with an append-only file) and
  killed, then the objects stored before are read and a new one is written
  through the same connector.

Each row gives ops/s (or the leftover count) with MB/s, errors, lost,
corrupt and leftovers in the detail; the target is zero of each.
`LocalConnector` is process-local, so it has no rows.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator

from benchmarks.common import Row
from tests.fixtures.endpoint import endpoint_process
from tests.fixtures.redis import SESSION_SERVER_OPTIONS
from tests.fixtures.redis import RedisServer
from tests.fixtures.redis import find_redis_server
from tests.reliability.harness import Medium
from tests.reliability.harness import Report
from tests.reliability.harness import endpoint_medium
from tests.reliability.harness import file_medium
from tests.reliability.harness import redis_medium
from tests.reliability.harness import run_kills
from tests.reliability.harness import run_load
from tests.reliability.harness import run_restart
from tests.reliability.harness import shm_medium

SECTION = 'reliability'
TARGET = '0 errors, lost, corrupt, leftovers'


def _mib(size: int) -> str:
    return f'{size / (1 << 20):g} MiB'


def _row(name: str, value: float, unit: str, report: Report) -> Row:
    leftovers = 'n/a' if report.leftovers is None else report.leftovers
    clean = report.errors == report.lost == report.corrupt == 0
    detail = (
        f'{report.nbytes / 1e6 / max(report.seconds, 1e-9):,.1f} MB/s, '
        f'errors={report.errors}, lost={report.lost}, '
        f'corrupt={report.corrupt}, leftovers={leftovers}'
    )
    if report.messages:
        detail += f'; first error: {report.messages[0][:120]}'
    return Row(
        section=SECTION,
        name=name,
        value=value,
        unit=unit,
        target=TARGET,
        ok=clean and not report.leftovers,
        detail=detail,
    )


@contextlib.contextmanager
def _media(directory: str) -> Iterator[list[Medium]]:
    """Every medium that other processes can reach, ready to use."""
    with contextlib.ExitStack() as stack:
        media = [stack.enter_context(file_medium(f'{directory}/file'))]
        shm_dir = '/dev/shm' if os.path.isdir('/dev/shm') else directory
        shm = tempfile.mkdtemp(prefix='bench-reliability-', dir=shm_dir)
        stack.callback(shutil.rmtree, shm, ignore_errors=True)
        media.append(stack.enter_context(shm_medium(shm)))
        if find_redis_server() is not None:
            server = stack.enter_context(
                RedisServer(f'{directory}/redis', *SESSION_SERVER_OPTIONS),
            )
            media.append(stack.enter_context(redis_medium(server)))
        config = stack.enter_context(
            endpoint_process(f'{directory}/home', 'reliability'),
        )
        media.append(
            stack.enter_context(
                endpoint_medium(f'{directory}/home', config.uuid),
            ),
        )
        yield media


def _restart_rows(directory: str, objects: int, size: int) -> list[Row]:
    if find_redis_server() is None:  # pragma: no cover
        return []
    rows = []
    for kill in (False, True):
        options = () if kill else ('--appendonly', 'yes')
        path = f'{directory}/restart-{kill}'
        with RedisServer(path, *SESSION_SERVER_OPTIONS, *options) as server:
            with redis_medium(server) as medium:
                report = run_restart(medium, objects, size, kill=kill)
        how = 'SIGKILL (no persistence)' if kill else 'clean shutdown (AOF)'
        row = _row(
            f'redis restart, {how}: {objects} x {_mib(size)} read back',
            report.ops / max(report.seconds, 1e-9),
            'ops/s',
            report,
        )
        if kill:  # losing unpersisted objects is expected; wrong data is not
            row.target = '0 errors, corrupt'
            row.ok = report.errors == report.corrupt == 0
        rows.append(row)
    return rows


def run(quick: bool) -> list[Row]:
    """Run the reliability scenarios for every connector."""
    processes, ops, size = (2, 20, 256 << 10) if quick else (4, 100, 1 << 20)
    kills, kill_size = (3, 16 << 20) if quick else (8, 64 << 20)
    rows = []
    with tempfile.TemporaryDirectory(prefix='bench-reliability-') as tmp:
        with _media(tmp) as media:
            for medium in media:
                report = run_load(medium, processes, ops, size)
                rows.append(
                    _row(
                        f'{medium.name} load: {processes} procs x {ops} puts '
                        f'of {_mib(size)} (+gets, evicts)',
                        report.ops / max(report.seconds, 1e-9),
                        'ops/s',
                        report,
                    ),
                )
                report = run_kills(medium, kills, kill_size)
                rows.append(
                    _row(
                        f'{medium.name} SIGKILL mid-put: {kills} writers of '
                        f'{_mib(kill_size)}',
                        report.leftovers or 0,
                        'leftovers',
                        report,
                    ),
                )
        rows.extend(_restart_rows(tmp, 8 if quick else 32, 3 << 20))
    return rows
