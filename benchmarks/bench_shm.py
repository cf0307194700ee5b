"""Shared-memory connector benchmarks (SPEC section 8).

Rows, for a 64 MiB float64 array:
- put+get through `Store(SharedMemoryConnector)` and through
  `serialize_to_buffers` + the connector, each against one `memcpy`
  (`ndarray.copy()`) and against the raw medium: a plain `write` of the
  same bytes to a new file in the same directory, then a private mapping
  of it.
- A cross-process handoff: a producer process puts the array through its
  `Store`, a consumer process gets it through its own `Store` (times taken
  in each process and added), against one `memcpy` and the raw medium.
- The consumer reading every element of the array it got (`sum`) against
  the same `sum` over an array in its own memory: `get` maps pages lazily,
  so the first touch pays for mapping them.
"""

from __future__ import annotations

import functools
import mmap
import multiprocessing
import os
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

from benchmarks.common import Row
from benchmarks.common import ratio_row
from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.connectors.shm import default_shm_dir
from proxystore.serialize import deserialize
from proxystore.serialize import serialize_to_buffers
from proxystore.store import Store

SECTION = 'shm'
ARRAY_BYTES = 64 << 20


def _array() -> Any:
    return np.random.default_rng(0).random(ARRAY_BYTES // 8)


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def _raw_medium(directory: str, data: memoryview) -> float:
    """One write of `data` to a new file in `directory`, then a mapping."""
    path = os.path.join(directory, f'bench-raw-{os.getpid()}')
    start = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    view = data
    while view:
        view = view[os.write(fd, view) :]
    os.close(fd)
    fd = os.open(path, os.O_RDONLY)
    mapped = mmap.mmap(fd, 0, access=mmap.ACCESS_COPY)
    os.close(fd)
    elapsed = time.perf_counter() - start
    mapped.close()
    os.unlink(path)
    return elapsed


def _report(row: Row, why: str) -> Row:
    """Turn a ratio row into a report-only row, saying why."""
    row.target, row.ok = 'report', None
    row.detail += f'; {why}'
    return row


_MEDIUM_NOTE = 'the raw medium row below is the floor'


def _pair(name: str, measured: float, memcpy: float, raw: float) -> list[Row]:
    """Rows for one case: against memcpy (report) and the raw medium."""
    return [
        _report(
            ratio_row(SECTION, name, measured, memcpy, 1.0, 'memcpy'),
            _MEDIUM_NOTE,
        ),
        ratio_row(
            SECTION,
            f'{name} (vs raw shm write+map)',
            measured,
            raw,
            1.3,
            'raw shm write+map',
        ),
    ]


def _same_process_rows(repeat: int) -> list[Row]:
    array = _array()
    data = memoryview(array).cast('B')
    connector = SharedMemoryConnector()
    store = Store('bench-shm', connector, cache_size=0)

    def via_store() -> tuple[float, float]:
        put_seconds, key = _timed(lambda: store.put(array))
        get_seconds, _ = _timed(lambda: store.get(key))
        store.evict(key)
        return put_seconds, get_seconds

    def via_connector() -> float:
        seconds, key = _timed(
            lambda: connector.put(serialize_to_buffers(array)),
        )
        more, _ = _timed(lambda: deserialize(connector.get(key) or b''))
        connector.evict(key)
        return seconds + more

    memcpy = raw = store_trip = store_get = connector_trip = float('inf')
    try:
        for _ in range(repeat):
            # Interleaved, so every case sees the same background load.
            memcpy = min(memcpy, _timed(array.copy)[0])
            raw = min(raw, _raw_medium(connector.shm_dir, data))
            put_seconds, get_seconds = via_store()
            store_trip = min(store_trip, put_seconds + get_seconds)
            store_get = min(store_get, get_seconds)
            connector_trip = min(connector_trip, via_connector())
    finally:
        store.close()

    label = 'Store(SharedMemoryConnector)'
    return [
        *_pair(f'{label} put+get 64 MiB array', store_trip, memcpy, raw),
        _report(
            ratio_row(
                SECTION,
                f'{label} get 64 MiB array',
                store_get,
                memcpy,
                1.0,
                'memcpy',
            ),
            'zero-copy: pages are mapped on first touch',
        ),
        *_pair(
            'serialize_to_buffers+SharedMemoryConnector put+get 64 MiB array',
            connector_trip,
            memcpy,
            raw,
        ),
    ]


# Cross-process handoff -----------------------------------------------------


def _handoff_store(config: dict[str, Any]) -> Store[Any]:
    """The uncached store each side of the handoff uses."""
    return Store(
        'bench-shm-handoff',
        SharedMemoryConnector.from_config(config),
        cache_size=0,
    )


def _producer(config: dict[str, Any], pipe: Connection) -> None:
    store = _handoff_store(config)
    array = _array()
    while pipe.recv():
        seconds, key = _timed(lambda: store.put(array))
        pipe.send((key, seconds))


def _consumer(config: dict[str, Any], pipe: Connection) -> None:
    store = _handoff_store(config)
    own = _array()
    while True:
        key = pipe.recv()
        if key is None:
            return
        get_seconds, got = _timed(functools.partial(store.get, key))
        sum_seconds, _ = _timed(got.sum)
        own_sum_seconds, _ = _timed(own.sum)
        del got
        pipe.send((get_seconds, sum_seconds, own_sum_seconds))


def _handoff_rows(repeat: int) -> list[Row]:
    context = multiprocessing.get_context('spawn')
    connector = SharedMemoryConnector()
    config = connector.config()
    pipes = [context.Pipe() for _ in range(2)]
    processes = [
        context.Process(target=target, args=(config, child))
        for target, (_, child) in zip(
            (_producer, _consumer),
            pipes,
            strict=True,
        )
    ]
    producer, consumer = (parent for parent, _ in pipes)
    for process in processes:
        process.start()
    array = _array()
    data = memoryview(array).cast('B')
    handoff = first_touch = own_touch = memcpy = raw = float('inf')
    try:
        for _ in range(repeat):
            memcpy = min(memcpy, _timed(array.copy)[0])
            raw = min(raw, _raw_medium(connector.shm_dir, data))
            producer.send(True)
            key, put_seconds = producer.recv()
            consumer.send(key)
            get_seconds, sum_seconds, own_sum_seconds = consumer.recv()
            connector.evict(key)
            handoff = min(handoff, put_seconds + get_seconds)
            first_touch = min(first_touch, sum_seconds)
            own_touch = min(own_touch, own_sum_seconds)
    finally:
        producer.send(False)
        consumer.send(None)
        for process in processes:
            process.join(timeout=30)
        connector.close()

    touch = Row(
        section=SECTION,
        name='consumer sum() of the got array, first touch',
        value=first_touch / own_touch,
        unit='x',
        target='report',
        detail=(
            f'{first_touch * 1e3:.3f} ms vs {own_touch * 1e3:.3f} ms for '
            'the same sum() over its own memory (lazy page mapping)'
        ),
    )
    return [
        *_pair(
            'cross-process handoff 64 MiB array (producer put, consumer get)',
            handoff,
            memcpy,
            raw,
        ),
        touch,
    ]


def run(quick: bool) -> list[Row]:
    """Measure the shared-memory rows."""
    repeat = 5 if quick else 11
    rows = _same_process_rows(repeat)
    rows += _handoff_rows(repeat)
    for row in rows:
        row.detail += f'; shm_dir={default_shm_dir()}'
    return rows
