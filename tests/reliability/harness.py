"""Load, kill and restart scenarios shared by the tests and benchmarks.

Every scenario drives real connectors from spawned processes (each rebuilds
its connector from `config()`), through the default serializer, with
objects whose SHA-256 is known, and reports what went wrong:

* `errors`: operations that raised;
* `lost`: objects that were stored (their `put` returned) but are gone;
* `corrupt`: objects that came back different, or failed to deserialize;
* `leftovers`: entries in the medium that belong to no stored object
  (after a fresh connector opened, so after its sweep), or `None` where the
  medium cannot be listed.

The tests in this folder run small versions; `benchmarks/bench_reliability`
prints the full-size figures.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import multiprocessing
import os
import random
import signal
import time
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

from proxystore.serialize import deserialize
from proxystore.serialize import serialize

_SPAWN = multiprocessing.get_context('spawn')
_TIMEOUT_S = 60.0


@dataclasses.dataclass
class Medium:
    """An open connector and how to inspect its medium.

    Attributes:
        name: Connector name (`file`, `shm`, `redis`, `endpoint`).
        connector: The open connector (the parent's).
        entries: Names of the medium's entries of this connector (after a
            fresh connector of the same config has opened), or `None` if
            the medium cannot be listed.
        object_entries: The entries one stored object occupies.
        restart: Restart the medium's server (`kill=True` for `SIGKILL`),
            or `None` if it has none.
    """

    name: str
    connector: Any
    entries: Callable[[], set[str] | None]
    object_entries: Callable[[Any], set[str]]
    restart: Callable[[bool], None] | None = None


@dataclasses.dataclass
class Report:
    """What a scenario measured.

    Attributes:
        ops: Connector operations completed.
        nbytes: Bytes written and read.
        seconds: Wall time of the operations.
        errors: Operations that raised.
        lost: Stored objects that are gone.
        corrupt: Objects that came back wrong.
        leftovers: Entries of no stored object (`None`: not listable).
        messages: The first few error messages.
    """

    ops: int = 0
    nbytes: int = 0
    seconds: float = 0.0
    errors: int = 0
    lost: int = 0
    corrupt: int = 0
    leftovers: int | None = 0
    messages: list[str] = dataclasses.field(default_factory=list)

    def add(self, other: Report) -> None:
        """Add the counts of `other` (a worker's report) to this one."""
        self.ops += other.ops
        self.nbytes += other.nbytes
        self.errors += other.errors
        self.lost += other.lost
        self.corrupt += other.corrupt
        self.messages.extend(other.messages[: 5 - len(self.messages)])

    def error(self, e: BaseException) -> None:
        """Count an operation that raised `e`."""
        self.errors += 1
        if len(self.messages) < 5:
            self.messages.append(f'{type(e).__name__}: {e}')


def payload(seed: int, size: int) -> bytes:
    """Deterministic pseudo-random bytes."""
    return random.Random(seed).randbytes(size)


def digest(data: bytes) -> str:
    """SHA-256 of `data` in hex."""
    return hashlib.sha256(data).hexdigest()


def check(connector: Any, key: Any, expected: str, report: Report) -> None:
    """Fetch `key` and count it as lost or corrupt unless it matches."""
    start = time.perf_counter()
    try:
        data = connector.get(key)
    except Exception as e:
        report.error(e)
        return
    finally:
        report.seconds += time.perf_counter() - start
    report.ops += 1
    if data is None:
        report.lost += 1
        return
    report.nbytes += len(data)
    try:
        obj = deserialize(data)
    except Exception:
        report.corrupt += 1
        return
    if not isinstance(obj, bytes) or digest(obj) != expected:
        report.corrupt += 1


# Load: N processes x M operations ----------------------------------------


def load_worker(
    kind: type[Any],
    config: dict[str, Any],
    worker: int,
    ops: int,
    size: int,
) -> tuple[Report, list[tuple[Any, str]]]:
    """Put, get back and evict objects; runs in a spawned process.

    Returns:
        The worker's report and the `(key, digest)` of the objects it
        left stored.
    """
    connector = kind.from_config(config)
    report = Report()
    kept: list[tuple[Any, str]] = []
    base = bytearray(payload(worker, size))
    for op in range(ops):
        base[:8] = op.to_bytes(8, 'little')  # a different object each time
        data = bytes(base)
        expected = digest(data)
        start = time.perf_counter()
        try:
            key = connector.put(serialize(data))
        except Exception as e:
            report.error(e)
            continue
        finally:
            report.seconds += time.perf_counter() - start
        report.ops += 1
        report.nbytes += size
        check(connector, key, expected, report)
        kept.append((key, expected))
        if op % 3 == 2:
            old, _ = kept.pop(0)
            start = time.perf_counter()
            try:
                connector.evict(old)
                report.ops += 1
                if connector.exists(old):
                    report.corrupt += 1  # evicted but still there
                report.ops += 1
            except Exception as e:
                report.error(e)
            finally:
                report.seconds += time.perf_counter() - start
    return report, kept


def run_load(medium: Medium, processes: int, ops: int, size: int) -> Report:
    """`processes` spawned workers of `ops` operations on `size` bytes.

    Afterwards the parent checks every object the workers left stored and
    counts entries of no stored object.
    """
    connector = medium.connector
    before = medium.entries()
    args = (type(connector), connector.config())
    with _SPAWN.Pool(processes) as pool:
        results = [
            pool.apply_async(load_worker, (*args, worker, ops, size))
            for worker in range(processes)
        ]
        outcomes = [result.get(_TIMEOUT_S * 4) for result in results]
    report = Report()
    kept: list[tuple[Any, str]] = []
    for worker_report, worker_kept in outcomes:
        report.add(worker_report)
        # Workers run in parallel: the slowest one's time is the run's.
        report.seconds = max(report.seconds, worker_report.seconds)
        kept.extend(worker_kept)
    for key, expected in kept:
        check(connector, key, expected, report)
    report.leftovers = leftovers(medium, [key for key, _ in kept], before)
    return report


def leftovers(
    medium: Medium,
    keys: list[Any],
    before: set[str] | None,
) -> int | None:
    """New entries of the medium (since `before`) that none of `keys` own."""
    entries = medium.entries()
    if entries is None or before is None:
        return None
    known = set(before)
    for key in keys:
        known |= medium.object_entries(key)
    return len(entries - known)


# Kill: SIGKILL a writer in the middle of a put ---------------------------


def kill_writer(
    kind: type[Any],
    config: dict[str, Any],
    size: int,
    pipe: Any,
) -> None:
    """Store objects until killed, reporting each start and completion.

    Each object is stored with `set()` on a key from `new_key()` (what
    `put()` does), so the parent knows the key of the write it kills.
    """
    connector = kind.from_config(config)
    for op in range(1_000_000):
        raw = payload(op, size)
        expected = digest(raw)
        data = serialize(raw)
        key = connector.new_key()
        pipe.send(('start', key, expected))
        connector.set(key, data)
        pipe.send(('done', key, expected))


def run_kills(medium: Medium, kills: int, size: int) -> Report:
    """`SIGKILL` `kills` writers, each in the middle of a put.

    Each writer completes one put (which times a put), then is killed at a
    random point of a later one. Every object a writer reported stored must
    still be intact. The write in flight when the writer died must be
    either absent or whole (it may have been committed just before the
    signal, without the writer learning it): its entries count as its
    object's if it is whole, as leftovers otherwise. Once a fresh
    connector has opened, no other entry may be left.
    """
    connector = medium.connector
    before = medium.entries()
    stored: list[tuple[Any, str]] = []
    report = Report()
    rng = random.Random(12)
    start = time.perf_counter()
    for _ in range(kills):
        parent, child = _SPAWN.Pipe()
        process = _SPAWN.Process(
            target=kill_writer,
            args=(type(connector), connector.config(), size, child),
        )
        process.start()
        child.close()
        in_flight: tuple[Any, str] | None = None
        try:
            duration = _one_put(parent, stored)
            _, *started = _expect(parent, 'start')
            in_flight = (started[0], started[1])
            time.sleep(rng.uniform(0.1, 0.7) * duration)
            assert process.pid is not None
            os.kill(process.pid, signal.SIGKILL)
        finally:
            process.join(_TIMEOUT_S)
        with contextlib.suppress(EOFError):  # the writer's end is closed
            while parent.poll():
                message = parent.recv()
                if message[0] == 'done':  # finished before the signal
                    stored.append((message[1], message[2]))
                    in_flight = None
                else:  # started another write before the signal
                    in_flight = (message[1], message[2])
        parent.close()
        report.ops += 1
        if in_flight is not None and connector.exists(in_flight[0]):
            stored.append(in_flight)  # committed whole: checked below
    for key, expected in stored:
        check(connector, key, expected, report)
    report.seconds = time.perf_counter() - start
    report.leftovers = leftovers(medium, [key for key, _ in stored], before)
    return report


def _expect(pipe: Any, kind: str) -> tuple[Any, ...]:
    if not pipe.poll(_TIMEOUT_S):
        raise TimeoutError(f'writer sent no {kind!r} message')
    message: tuple[Any, ...] = pipe.recv()
    if message[0] != kind:
        raise AssertionError(f'expected {kind!r}, got {message!r}')
    return message


def _one_put(pipe: Any, stored: list[tuple[Any, str]]) -> float:
    """Wait for the writer's first put; returns how long it took."""
    _expect(pipe, 'start')
    began = time.perf_counter()
    _, key, expected = _expect(pipe, 'done')
    stored.append((key, expected))
    return time.perf_counter() - began


# Restart: the broker goes away and comes back ----------------------------


def run_restart(medium: Medium, objects: int, size: int, kill: bool) -> Report:
    """Store objects, restart the server, then read them and write more.

    Objects may be lost (counted in `lost`) by a `SIGKILL` restart of a
    server that does not persist them, but must never come back wrong;
    operations after the restart must work on the same connector.
    """
    assert medium.restart is not None
    connector = medium.connector
    stored = []
    report = Report()
    for op in range(objects):
        data = payload(op, size)
        stored.append((connector.put(serialize(data)), digest(data)))
    start = time.perf_counter()
    medium.restart(kill)
    for key, expected in stored:
        for attempt in range(2):  # the first call may find a dead socket
            try:
                data = connector.get(key)
            except Exception as e:
                if attempt:
                    report.error(e)
                continue
            report.ops += 1
            if data is not None:
                try:
                    ok = digest(deserialize(data)) == expected
                except Exception:
                    ok = False
                report.corrupt += not ok
            else:
                report.lost += 1
            break
    data = payload(objects, size)
    try:
        check(connector, connector.put(serialize(data)), digest(data), report)
    except Exception as e:
        report.error(e)
    report.seconds = time.perf_counter() - start
    return report


# Media -------------------------------------------------------------------


@contextlib.contextmanager
def _directory_medium(
    name: str,
    connector: Any,
    directory: str,
    entry: Callable[[Any], str],
) -> Iterator[Medium]:
    """A File or shared-memory connector whose files are in `directory`."""

    def entries() -> set[str]:
        # Opening a connector sweeps killed writers' temporary files.
        type(connector)(**{**connector.config(), 'clear': False})
        return set(os.listdir(directory))

    try:
        yield Medium(name, connector, entries, lambda key: {entry(key)})
    finally:
        connector.close()


def file_medium(directory: str) -> contextlib.AbstractContextManager[Medium]:
    """A `FileConnector` in `directory`."""
    from proxystore.connectors.file import FileConnector

    connector = FileConnector(directory)
    return _directory_medium(
        'file',
        connector,
        connector.store_dir,
        lambda key: key.filename,
    )


def shm_medium(directory: str) -> contextlib.AbstractContextManager[Medium]:
    """A `SharedMemoryConnector` with its segments in `directory`."""
    from proxystore.connectors.shm import SharedMemoryConnector

    connector = SharedMemoryConnector(shm_dir=directory)
    return _directory_medium('shm', connector, directory, lambda key: key.name)


@contextlib.contextmanager
def redis_medium(server: Any) -> Iterator[Medium]:
    """A `RedisConnector` in a fresh namespace of `server`."""
    from proxystore.connectors.redis import RedisConnector

    namespace = f'reliability-{os.urandom(4).hex()}'
    connector = RedisConnector(
        server.host,
        server.port,
        clear=True,
        namespace=namespace,
    )
    client = server.client()

    def entries() -> set[str]:
        return {name.decode() for name in client.scan_iter(f'{namespace}:*')}

    def object_entries(key: Any) -> set[str]:
        return {key.redis_key, f'{key.redis_key}::chunks'}

    try:
        yield Medium(
            'redis',
            connector,
            entries,
            object_entries,
            lambda kill: server.restart(kill=kill),
        )
    finally:
        try:
            connector.close()
        finally:
            client.close()


@contextlib.contextmanager
def endpoint_medium(home: str, endpoint_uuid: Any) -> Iterator[Medium]:
    """An `EndpointConnector` to a running endpoint (not listable)."""
    from proxystore.connectors.endpoint import EndpointConnector

    connector = EndpointConnector([str(endpoint_uuid)], proxystore_dir=home)
    try:
        yield Medium('endpoint', connector, lambda: None, lambda k: set())
    finally:
        connector.close()
