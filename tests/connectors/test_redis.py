"""RedisConnector against real redis-server processes.

Most tests use the session server (`redis_server`, bulk strings limited to
1 MiB so chunking is cheap to exercise); tests that stop, restart or
reconfigure a server start a private one.
"""

from __future__ import annotations

import multiprocessing
import pathlib
import socket
import threading
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any
from typing import cast

import numpy as np
import pytest
import redis

from proxystore.connectors.redis import MIN_BULK_LIMIT
from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.redis import RedisConnectorError
from proxystore.connectors.redis import RedisKey
from tests.fixtures.ports import free_port
from tests.fixtures.redis import RedisServer
from tests.fixtures.redis import calls_during
from tests.fixtures.redis import redis_server_in_tmpdir
from tests.helpers.connectors import key_operations
from tests.helpers.connectors import kill_mid_write
from tests.helpers.docs import doc_blocks
from tests.helpers.scripts import run_example

SPAWN = multiprocessing.get_context('spawn')
MIB = 1024 * 1024


def random_bytes(size: int, seed: int = 0) -> bytes:
    return np.random.default_rng(seed).bytes(size)


@pytest.fixture
def private_server() -> Iterator[RedisServer]:
    with redis_server_in_tmpdir() as server:
        yield server


# --- basics -----------------------------------------------------------


def test_key_is_small_readable_and_hashable() -> None:
    key = RedisKey('abc')
    assert repr(key) == "RedisKey(redis_key='abc')"
    assert {key: 1}[RedisKey('abc')] == 1


@pytest.mark.parametrize(
    'obj',
    [
        b'bytes',
        bytearray(b'bytearray'),
        memoryview(b'xxmemoryviewxx')[2:-2],
        np.arange(10, dtype=np.float32),
        np.arange(12, dtype=np.int16).reshape(3, 4),
        [b'a list ', memoryview(b'of '), bytearray(b'buffers')],
        b'',
    ],
    ids=lambda obj: type(obj).__name__,
)
def test_put_accepts_any_bytes_like(
    redis_connector: RedisConnector,
    obj: Any,
) -> None:
    parts = obj if isinstance(obj, list) else [obj]
    expected = b''.join(bytes(memoryview(p).cast('B')) for p in parts)
    key = redis_connector.put(obj)
    assert redis_connector.get(key) == expected


BAD_REDIS_KEYS = [
    'foreign',
    '',
    '*',
    'users:1',
    str(uuid.uuid4()).upper(),
    f'{uuid.uuid4()}::chunks',
    f'{uuid.uuid4()} ',
]


@pytest.mark.parametrize('name', BAD_REDIS_KEYS)
def test_key_outside_namespace_rejected_and_nothing_touched(
    redis_connector: RedisConnector,
    redis_client: redis.Redis,
    name: str,
) -> None:
    redis_client.set(name, b'not ours')
    kept = redis_connector.put(b'kept')
    for operation in key_operations(redis_connector, RedisKey(name)):
        with pytest.raises(ValueError, match='Invalid RedisKey'):
            operation()
    assert redis_client.get(name) == b'not ours'
    assert redis_connector.get(kept) == b'kept'
    with pytest.raises(ValueError, match='Invalid RedisKey'):
        redis_connector.exists(RedisKey(42))  # type: ignore[arg-type]
    redis_client.delete(name)


_UUID = '0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9'
ODD_REDIS_KEYS = [
    _UUID + 'a' * MIB,  # a 1 MiB key
    _UUID[:-1],  # one character short
    _UUID + '\n',  # what a `$` anchor would let through
    _UUID + '\r\n' + 'SET x y',  # a RESP command tucked behind
    _UUID.replace('-', '\x00', 1),
    _UUID.replace('0', '\uff10'),  # full-width digit zero
    _UUID.replace('a', '\u0430'),  # Cyrillic a
    _UUID[:-1] + '\udcff',  # a surrogate: not encodable as UTF-8
    f'ns:{_UUID}',  # another namespace's key
    f'{_UUID}::partial',
]


@pytest.mark.parametrize(
    'name',
    [*ODD_REDIS_KEYS, _UUID.encode(), None, 7],
    ids=lambda name: repr(name)[:24],
)
def test_odd_or_long_key_raises_value_error_before_any_io(
    redis_server: RedisServer,
    redis_client: redis.Redis,
    name: Any,
) -> None:
    with RedisConnector(redis_server.host, redis_server.port) as connector:
        kept = connector.put(b'kept')
        stored = set(redis_client.keys('*'))
        key = RedisKey(name)

        def refuse_all() -> None:
            for operation in key_operations(connector, key):
                with pytest.raises(ValueError, match='Invalid RedisKey') as e:
                    operation()
                assert len(str(e.value)) < 300  # a long key is shortened
            # A batch with one bad key does nothing for the good ones.
            with pytest.raises(ValueError, match='Invalid RedisKey'):
                connector.get_batch([kept, key])

        # Not one command reached the server, and nothing changed.
        assert calls_during(redis_client, refuse_all) == {}
        assert set(redis_client.keys('*')) == stored
        assert connector.get(kept) == b'kept'
        connector.evict(kept)


def test_invalid_key_fails_without_a_server() -> None:
    # Validation needs no I/O: the error is the key's, not the network's.
    connector = RedisConnector('127.0.0.1', free_port())
    for name in ODD_REDIS_KEYS:
        for operation in key_operations(connector, RedisKey(name)):
            with pytest.raises(ValueError, match='Invalid RedisKey'):
                operation()
    with pytest.raises(RedisConnectorError, match='unreachable'):
        connector.exists(connector.new_key())
    connector.close()


def test_put_rejects_non_bytes_and_stores_nothing(
    redis_connector: RedisConnector,
    redis_client: redis.Redis,
) -> None:
    size = redis_client.dbsize()
    with pytest.raises(TypeError, match='bytes-like'):
        redis_connector.put('a str')  # type: ignore[arg-type]
    with pytest.raises(TypeError, match='bytes-like'):
        redis_connector.put_batch([b'fine', 42])  # type: ignore[list-item]
    assert redis_client.dbsize() == size


def test_non_contiguous_buffer_is_stored_in_order(
    redis_connector: RedisConnector,
) -> None:
    array: Any = np.arange(10, dtype=np.uint8)[::2]
    key = redis_connector.put(array)
    assert redis_connector.get(key) == array.tobytes()


def test_get_missing_and_evicted(redis_connector: RedisConnector) -> None:
    assert redis_connector.get(redis_connector.new_key()) is None
    key = redis_connector.put(b'value')
    assert redis_connector.exists(key)
    redis_connector.evict(key)
    assert not redis_connector.exists(key)
    assert redis_connector.get(key) is None
    redis_connector.evict(key)  # a no-op now


def test_new_key_then_set(redis_connector: RedisConnector) -> None:
    key = redis_connector.new_key()
    assert not redis_connector.exists(key)
    assert redis_connector.get(key) is None
    redis_connector.set(key, b'later')
    assert redis_connector.get(key) == b'later'


def test_concurrent_threads(redis_connector: RedisConnector) -> None:
    errors: list[BaseException] = []

    def work(i: int) -> None:
        try:
            for j in range(20):
                data = f'{i}-{j}'.encode()
                assert redis_connector.get(redis_connector.put(data)) == data
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_short_name_in_connector_config(redis_server: RedisServer) -> None:
    from proxystore.store.config import ConnectorConfig

    config = ConnectorConfig(
        kind='redis',
        options={'hostname': redis_server.host, 'port': redis_server.port},
    )
    connector: Any = config.get_connector()
    with connector:
        assert isinstance(connector, RedisConnector)
        key = connector.put(b'via config')
        assert connector.get(key) == b'via config'
        connector.evict(key)


# --- copies and round trips ------------------------------------------


def test_put_sends_large_buffers_without_copying(
    redis_connector: RedisConnector,
    redis_client: redis.Redis,
) -> None:
    data = bytearray(random_bytes(8 * MIB))
    view = memoryview(data)

    def peak_bytes(action: Any) -> int:
        tracemalloc.start()
        try:
            action()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    # Sanity check of the measurement: plain redis-py copies the value.
    name, value = f'raw-{uuid.uuid4()}', bytes(view[: MIB // 2])
    assert peak_bytes(lambda: redis_client.set(name, value)) > MIB // 2
    redis_client.delete(name)

    redis_connector.exists(redis_connector.new_key())  # connect
    keys: list[RedisKey] = []
    # Chunked (8 MiB > the 1 MiB limit) and whole-object writes.
    assert peak_bytes(lambda: keys.append(redis_connector.put(view))) < MIB
    small = view[: MIB // 2]
    assert peak_bytes(lambda: keys.append(redis_connector.put(small))) < (
        MIB // 4
    )
    assert redis_connector.get(keys[0]) == bytes(data)
    assert redis_connector.get(keys[1]) == bytes(small)


def test_zero_copy_packing_is_valid_resp() -> None:
    import hiredis

    from proxystore.connectors.redis import _Payload
    from proxystore.connectors.redis import _ZeroCopyPacker

    big = random_bytes(100_000)
    payload = _Payload.wrap([b'small', memoryview(big), bytearray(b'tail')])
    packed = _ZeroCopyPacker().pack('LPUSH', 'key', payload, 7)
    # The large part is the caller's memory itself, not a copy.
    assert any(
        isinstance(item, memoryview) and item.obj is big for item in packed
    )
    expected = hiredis.pack_command(
        ('LPUSH', 'key', b'small' + big + b'tail', 7),  # type: ignore[arg-type]
    )
    assert b''.join(packed) == expected
    assert _ZeroCopyPacker().pack('CONFIG GET', 'x') == [
        hiredis.pack_command(('CONFIG', 'GET', 'x')),  # type: ignore[arg-type]
    ]


def test_works_without_hiredis_packer(
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import proxystore.connectors.redis as module

    monkeypatch.setattr(module, '_hiredis_pack', None)
    with RedisConnector(redis_server.host, redis_server.port, clear=True) as c:
        big = random_bytes(2 * MIB + 1)
        keys = c.put_batch([b'small', big])
        assert c.get_batch(keys) == [b'small', big]
        assert c.exists(keys[0])


def test_batches_use_one_command(
    redis_connector: RedisConnector,
    redis_client: redis.Redis,
) -> None:
    objs = [random_bytes(1024, seed=i) for i in range(1000)]
    keys: list[RedisKey] = []
    calls = calls_during(
        redis_client, lambda: keys.extend(redis_connector.put_batch(objs))
    )
    assert calls == {'mset': 1}

    results: list[Any] = []
    calls = calls_during(
        redis_client, lambda: results.extend(redis_connector.get_batch(keys))
    )
    assert calls == {'mget': 1}
    assert results == objs

    missing = [redis_connector.new_key(), keys[0]]
    calls = calls_during(
        redis_client,
        lambda: results.append(redis_connector.get_batch(missing)),
    )
    assert calls == {'mget': 1}
    assert results[-1] == [None, objs[0]]


def test_put_get_exists_evict_use_one_command(
    redis_connector: RedisConnector,
    redis_client: redis.Redis,
) -> None:
    keys: list[RedisKey] = []
    assert calls_during(
        redis_client, lambda: keys.append(redis_connector.put(b'x'))
    ) == {
        'mset': 1,
    }
    key = keys[0]
    assert calls_during(redis_client, lambda: redis_connector.get(key)) == {
        'mget': 1
    }
    assert calls_during(redis_client, lambda: redis_connector.exists(key)) == {
        'exists': 1,
    }
    assert calls_during(redis_client, lambda: redis_connector.evict(key)) == {
        'del': 1
    }


def child_get(config: dict[str, Any], key: RedisKey) -> bytes | None:
    connector = RedisConnector.from_config(config)
    result = connector.get(key)
    # Not clear=True: that would clear the parent's namespace too.
    connector.close(clear=False)
    return None if result is None else bytes(result)


def child_put(config: dict[str, Any], data: bytes) -> RedisKey:
    connector = RedisConnector.from_config(config)
    key = connector.put(data)
    connector.close(clear=False)
    return key


def test_config_round_trip_in_spawned_process(
    redis_connector: RedisConnector,
) -> None:
    big = random_bytes(3 * MIB + 7)
    key = redis_connector.put(big)
    config = redis_connector.config()
    with ProcessPoolExecutor(1, mp_context=SPAWN) as pool:
        assert pool.submit(child_get, config, key).result() == big
        other = pool.submit(child_put, config, b'from child').result()
    assert redis_connector.get(other) == b'from child'
    redis_connector.evict(other)


def child_resolve_sum(proxy: Any) -> float:
    return float(np.sum(proxy))


def test_store_proxy_resolves_in_spawned_process(
    redis_server: RedisServer,
) -> None:
    from proxystore.store import Store

    array = np.arange(1_000_000, dtype=np.float64)  # ~8 MB: chunked
    connector = RedisConnector(
        redis_server.host, redis_server.port, clear=True
    )
    with Store('test-redis-spawn', connector) as store:
        proxy = store.proxy(array, populate_target=False)
        with ProcessPoolExecutor(1, mp_context=SPAWN) as pool:
            total = pool.submit(child_resolve_sum, proxy).result()
    assert total == float(array.sum())


# --- chunking ---------------------------------------------------------


def test_large_objects_are_chunked_transparently(
    redis_connector: RedisConnector,
    redis_client: redis.Redis,
) -> None:
    big = random_bytes(3 * MIB + 123)
    pieces: list[Any] = [big[: MIB + 5], memoryview(big)[MIB + 5 :]]
    key = redis_connector.put(big)
    key_from_list = redis_connector.put(pieces)
    small = redis_connector.put(b'small')

    name = key.redis_key
    assert redis_client.type(name) == b'list'
    assert int(redis_client.get(f'{name}::chunks')) == 4  # type: ignore[arg-type]
    chunks = redis_client.lrange(name, 0, -1)
    assert [len(chunk) for chunk in chunks] == [MIB] * 3 + [123]

    assert redis_connector.get(key) == big
    assert redis_connector.get(key_from_list) == big
    batch = [small, key, redis_connector.new_key(), key_from_list]
    assert redis_connector.get_batch(batch) == [b'small', big, None, big]

    redis_connector.evict(key)
    assert (
        redis_client.exists(name, f'{name}::chunks', f'{name}::partial') == 0
    )
    assert redis_connector.get(key) is None
    assert redis_connector.get(key_from_list) == big


def test_chunk_size_comes_from_server_config(
    redis_connector: RedisConnector,
) -> None:
    redis_connector.put(random_bytes(MIB + 1))
    assert redis_connector._chunk_size == MIN_BULK_LIMIT


def test_chunked_put_batch_is_one_round_trip(
    redis_connector: RedisConnector,
    redis_client: redis.Redis,
) -> None:
    objs = [random_bytes(2 * MIB + 1), b'small', random_bytes(MIB + 1, 1)]
    keys: list[RedisKey] = []
    redis_connector.put(random_bytes(MIB + 1))  # learns the chunk size
    calls = calls_during(
        redis_client, lambda: keys.extend(redis_connector.put_batch(objs))
    )
    # One MULTI/EXEC transaction: small objects in one MSET; per chunked
    # object a DEL (makes retries safe), RPUSH per chunk, count SET.
    assert calls == {
        'multi': 1,
        'mset': 1,
        'del': 2,
        'rpush': 5,
        'set': 2,
        'exec': 1,
    }
    assert redis_connector.get_batch(keys) == objs


def test_partially_evicted_chunked_object_reads_as_missing(
    redis_connector: RedisConnector,
    redis_client: redis.Redis,
) -> None:
    big = random_bytes(2 * MIB + 1)
    lost_count = redis_connector.put(big)
    lost_list = redis_connector.put(big)
    lost_chunk = redis_connector.put(big)
    intact = redis_connector.put(big)
    # What a server under memory pressure (or an operator) may do.
    redis_client.delete(f'{lost_count.redis_key}::chunks')
    redis_client.delete(lost_list.redis_key)
    redis_client.lpop(lost_chunk.redis_key)
    for key in (lost_count, lost_list, lost_chunk):
        assert redis_connector.get(key) is None
    batch = [lost_count, intact, lost_list, lost_chunk]
    assert redis_connector.get_batch(batch) == [None, big, None, None]


def test_set_replaces_a_chunked_object_whole(
    redis_connector: RedisConnector,
    redis_client: redis.Redis,
) -> None:
    key = redis_connector.new_key()
    name = key.redis_key
    redis_connector.set(key, random_bytes(2 * MIB + 1))
    assert redis_client.exists(f'{name}::chunks') == 1
    calls = calls_during(redis_client, lambda: redis_connector.set(key, b'x'))
    # One transaction, so no reader sees the list without its count.
    assert calls == {'multi': 1, 'del': 1, 'mset': 1, 'exec': 1}
    assert redis_connector.get(key) == b'x'
    assert redis_client.exists(f'{name}::chunks', f'{name}::partial') == 0
    big = random_bytes(2 * MIB + 2)
    redis_connector.set(key, big)
    assert redis_connector.get(key) == big


@pytest.mark.parametrize(
    'count',
    [b'', b'x', b'-2', b'0', b'2.0', b' 2', b'\xd9\xa2', b'9' * 5000],
    ids=repr,
)
def test_damaged_chunk_count_reads_as_missing(
    redis_connector: RedisConnector,
    redis_client: redis.Redis,
    count: bytes,
) -> None:
    big = random_bytes(2 * MIB + 1)
    key, kept = redis_connector.put(big), redis_connector.put(big)
    redis_client.set(f'{key.redis_key}::chunks', count)
    assert redis_connector.get(key) is None
    assert redis_connector.get_batch([key, kept]) == [None, big]
    assert redis_connector.exists(key)  # damaged, left for inspection
    redis_connector.evict(key)
    assert redis_client.exists(key.redis_key, f'{key.redis_key}::chunks') == 0


def test_list_longer_than_its_count_is_not_read_whole(
    redis_connector: RedisConnector,
    redis_client: redis.Redis,
) -> None:
    key = redis_connector.new_key()
    name = key.redis_key
    chunk = random_bytes(256 * 1024)
    redis_client.rpush(name, *([chunk] * 40))  # 10 MiB
    redis_client.set(f'{name}::chunks', 1)

    def sent() -> int:
        stats = redis_client.info('stats')
        return int(stats['total_net_output_bytes'])

    before = sent()
    assert redis_connector.get(key) is None
    # Two chunks at most (one more than the count tells the length).
    assert sent() - before < 3 * len(chunk)
    redis_connector.evict(key)


def test_chunk_size_falls_back_when_config_is_disabled() -> None:
    with redis_server_in_tmpdir('--rename-command', 'CONFIG', '') as server:
        with RedisConnector(server.host, server.port) as connector:
            data = random_bytes(2 * MIB)
            key = connector.put(data)
            # Redis's default limit (512 MiB) applies: stored whole.
            assert server.client().strlen(key.redis_key) == len(data)
            assert connector.get(key) == data


# --- clear ------------------------------------------------------------


def _stored(client: redis.Redis) -> set[bytes]:
    return set(cast('list[bytes]', client.keys('*')))


def test_clear_removes_the_namespace_and_nothing_else(
    redis_server: RedisServer,
    redis_client: redis.Redis,
) -> None:
    foreign = {
        f'foreign-{uuid.uuid4()}': b'not ours',
        f'{uuid.uuid4()}-suffix': b'uuid then more',
        str(uuid.uuid4()).upper(): b'upper-case uuid',
        f'{uuid.uuid4()}::tail': b'looks like ours',
        f'other:{uuid.uuid4()}': b'another namespace',
    }
    redis_client.mset(foreign)
    redis_client.rpush(f'foreign-list-{uuid.uuid4()}', b'a', b'b')
    before = _stored(redis_client)

    with RedisConnector(
        redis_server.host,
        redis_server.port,
        namespace='kept-ns',
    ) as namespaced:
        kept = namespaced.put(b'kept in its own namespace')
        # Another connector (another writer) in the same namespace.
        other = RedisConnector(redis_server.host, redis_server.port)
        also_gone = other.put(b'same namespace, other writer')
        connector = RedisConnector(
            redis_server.host,
            redis_server.port,
            clear=True,
        )
        ours = connector.put_batch([b'a', random_bytes(2 * MIB)])
        deferred = connector.new_key()
        connector.set(deferred, b'd')
        # A chunked object half written by a killed writer.
        redis_client.rpush(f'{uuid.uuid4()}::partial', b'chunk')
        assert all(connector.exists(key) for key in [*ours, deferred])
        connector.close()

        assert _stored(redis_client) == before | {kept.redis_key.encode()}
        assert redis_client.mget(list(foreign)) == list(foreign.values())
        assert other.get(also_gone) is None
        assert namespaced.get(kept) == b'kept in its own namespace'
        other.close()
        namespaced.close(clear=True)
    assert _stored(redis_client) == before
    redis_client.delete(*before)


def test_close_clear_argument_overrides_default(
    redis_server: RedisServer,
    redis_client: redis.Redis,
) -> None:
    connector = RedisConnector(
        redis_server.host, redis_server.port, clear=True
    )
    key = connector.put(b'survives')
    connector.close(clear=False)
    with RedisConnector(redis_server.host, redis_server.port) as reader:
        assert reader.get(key) == b'survives'
    # close(clear=True) on a connector built with clear=False clears too,
    # also objects that another connector stored.
    reader = RedisConnector(redis_server.host, redis_server.port)
    assert reader.get(key) == b'survives'
    reader.close(clear=True)
    assert redis_client.get(key.redis_key) is None


def test_non_clearing_connector_keeps_no_keys(
    redis_server: RedisServer,
    redis_client: redis.Redis,
) -> None:
    # A long-running producer must not grow with every object it stores,
    # yet close(clear=True) still removes what it stored.
    connector = RedisConnector(redis_server.host, redis_server.port)
    state = dict(vars(connector))
    keys = connector.put_batch([b'x'] * 100)
    connector.set(connector.new_key(), b'y')
    assert vars(connector).keys() == state.keys()
    assert connector.get_batch(keys) == [b'x'] * 100
    connector.close(clear=True)
    assert not any(redis_client.exists(key.redis_key) for key in keys)


def test_namespace_keys_and_config(
    redis_server: RedisServer,
    redis_client: redis.Redis,
) -> None:
    connector = RedisConnector(
        redis_server.host,
        redis_server.port,
        namespace='app.1',
    )
    key = connector.put(b'namespaced')
    assert key.redis_key.startswith('app.1:')
    assert redis_client.get(key.redis_key) == b'namespaced'
    assert connector.config() == {
        'hostname': redis_server.host,
        'port': redis_server.port,
        'clear': False,
        'namespace': 'app.1',
    }
    assert repr(connector) == (
        f'RedisConnector(hostname={redis_server.host}, '
        f'port={redis_server.port}, namespace=app.1)'
    )
    copy = RedisConnector.from_config(connector.config())
    assert copy.get(key) == b'namespaced'
    # Keys of other namespaces (or none) are outside this connector's.
    bare = RedisKey(str(uuid.uuid4()))
    for outside in (bare, RedisKey(f'app.2:{uuid.uuid4()}')):
        for operation in key_operations(connector, outside):
            with pytest.raises(ValueError, match='Invalid RedisKey'):
                operation()
    with RedisConnector(redis_server.host, redis_server.port) as plain:
        with pytest.raises(ValueError, match='Invalid RedisKey'):
            plain.get(key)
    copy.close(clear=False)
    connector.close(clear=True)
    assert redis_client.get(key.redis_key) is None


@pytest.mark.parametrize('namespace', ['', 'a:b', 'a*', 'with space', 'x?'])
def test_bad_namespace_rejected(namespace: str) -> None:
    with pytest.raises(ValueError, match='namespace'):
        RedisConnector('127.0.0.1', 6379, namespace=namespace)


def test_repr() -> None:
    connector = RedisConnector('localhost', 6379)
    assert repr(connector) == 'RedisConnector(hostname=localhost, port=6379)'
    connector.close()


def test_client_is_built_with_strict_redis(
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[dict[str, Any]] = []
    real = redis.StrictRedis

    class Recording(real):  # type: ignore[misc,valid-type]
        def __init__(self, **kwargs: Any) -> None:
            calls.append(kwargs)
            super().__init__(**kwargs)

    monkeypatch.setattr(redis, 'StrictRedis', Recording)
    with RedisConnector(redis_server.host, redis_server.port) as connector:
        key = connector.put(b'through StrictRedis')
        assert connector.get(key) == b'through StrictRedis'
        connector.evict(key)
    assert len(calls) == 1
    assert calls[0]['host'] == redis_server.host
    assert calls[0]['port'] == redis_server.port


def test_logging(
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger='proxystore.connectors.redis')
    with RedisConnector(redis_server.host, redis_server.port) as connector:
        key = connector.put(b'x')
        connector.get(key)
        connector.evict(key)
    records = [
        r for r in caplog.records if r.name == 'proxystore.connectors.redis'
    ]
    info = [r.getMessage() for r in records if r.levelno == logging.INFO]
    assert info[0].startswith('Initialized RedisConnector(hostname=')
    assert info[-1].startswith('Closed RedisConnector(hostname=')
    assert not any(key.redis_key in m for m in info)
    debug = [r.getMessage() for r in records if r.levelno == logging.DEBUG]
    for op in ('PUT', 'GET', 'EVICT'):
        assert any(m.startswith(op) and key.redis_key in m for m in debug)


# --- client options ---------------------------------------------------


def test_kwargs_reach_the_client_and_the_config() -> None:
    with redis_server_in_tmpdir('--requirepass', 's3cret') as server:
        connector = RedisConnector(
            server.host,
            server.port,
            password='s3cret',
            db=2,
        )
        assert connector.config() == {
            'hostname': server.host,
            'port': server.port,
            'clear': False,
            'password': 's3cret',
            'db': 2,
        }
        key = connector.put(b'in db 2')
        client = server.client(password='s3cret', db=2)
        assert client.get(key.redis_key) == b'in db 2'
        assert server.client(password='s3cret').get(key.redis_key) is None
        connector.close()

        with RedisConnector(server.host, server.port) as no_password:
            with pytest.raises(RedisConnectorError, match='(?i)auth'):
                no_password.get(key)


def test_decode_responses_is_rejected() -> None:
    with pytest.raises(ValueError, match='decode_responses'):
        RedisConnector('127.0.0.1', 6379, decode_responses=True)


# --- faults -----------------------------------------------------------


@pytest.mark.timeout(60)
def test_unreachable_server_fails_fast_with_clear_error() -> None:
    port = free_port()  # nothing listens here
    connector = RedisConnector('127.0.0.1', port)
    with pytest.raises(RedisConnectorError) as info:
        connector.put(b'data')
    message = str(info.value)
    assert f'127.0.0.1:{port}' in message
    assert 'unreachable' in message
    assert isinstance(info.value.__cause__, redis.ConnectionError)
    with pytest.raises(RedisConnectorError):
        connector.get(connector.new_key())
    with pytest.raises(RedisConnectorError):
        connector.get_batch([connector.new_key()])
    connector.close()


@pytest.mark.timeout(20)
def test_black_holed_server_fails_at_connect_timeout() -> None:
    # A listener whose backlog is full drops new SYNs, like a firewall.
    with socket.socket() as listener:
        listener.bind(('127.0.0.1', 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        backlog = [socket.socket() for _ in range(3)]
        for s in backlog:
            s.setblocking(False)
            s.connect_ex(('127.0.0.1', port))
        try:
            # Default options: without a connect timeout this would hang
            # for minutes (and pytest-timeout would fail the test).
            connector = RedisConnector('127.0.0.1', port)
            with pytest.raises(RedisConnectorError, match='did not answer'):
                connector.put(b'data')
        finally:
            for s in backlog:
                s.close()


@pytest.mark.timeout(60)
def test_stalled_server_times_out_then_recovers(
    private_server: RedisServer,
) -> None:
    connector = RedisConnector(
        private_server.host,
        private_server.port,
        socket_timeout=1,
    )
    key = connector.put(b'kept')
    private_server.pause()
    try:
        with pytest.raises(RedisConnectorError, match='did not answer'):
            connector.get(key)
    finally:
        private_server.resume()
    assert connector.get(key) == b'kept'
    connector.close()


@pytest.mark.timeout(60)
def test_server_killed_and_restarted(private_server: RedisServer) -> None:
    connector = RedisConnector(private_server.host, private_server.port)
    before = connector.put(b'before the crash')
    big = connector.put(random_bytes(2 * MIB))

    private_server.stop(kill=True)
    with pytest.raises(RedisConnectorError, match='unreachable'):
        connector.get(before)
    with pytest.raises(RedisConnectorError, match='unreachable'):
        connector.put(b'while down')

    private_server.start(port=private_server.port)
    # The data did not survive (no persistence): missing, never corrupt.
    assert connector.get(before) is None
    assert connector.get_batch([before, big]) == [None, None]
    key = connector.put(b'after the restart')
    assert connector.get(key) == b'after the restart'
    connector.close()


@pytest.mark.timeout(60)
def test_server_restarted_with_persistence_keeps_objects() -> None:
    with redis_server_in_tmpdir('--save', '3600', '1') as server:
        connector = RedisConnector(server.host, server.port)
        data = random_bytes(2 * MIB + 3)
        keys = connector.put_batch([b'small', data])
        server.restart()  # clean shutdown writes the dump, start loads it
        assert connector.get_batch(keys) == [b'small', data]
        connector.close()


KILLED_OBJECT_BYTES = 256 * MIB
"""Chunked in 1 MiB pieces: the writer is still sending when it is found."""


def _clients_in_transaction(client: redis.Redis) -> int:
    """Connections of the server with commands queued in a MULTI."""
    return sum(int(info.get('multi', -1)) > 0 for info in client.client_list())


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize('deferred', [False, True], ids=['put', 'set'])
def test_killed_writer_leaves_nothing(deferred: bool) -> None:
    # Issue 12: a writer SIGKILLed in the middle of a chunked put left a
    # `<key>::partial` list that nothing removed. The chunks now go in one
    # MULTI/EXEC transaction, which the server drops with the connection.
    with redis_server_in_tmpdir('--proto-max-bulk-len', '1mb') as server:
        client = server.client()
        connector = RedisConnector(server.host, server.port)
        kept = connector.put(b'kept')
        key = connector.new_key() if deferred else None
        before = set(client.keys('*'))

        def writing() -> bool:
            # Chunks queued in a transaction (or, before the fix, pushed
            # to a partial list) are the writer being mid-object.
            return _clients_in_transaction(client) > 0 or any(
                client.llen(name) > 0
                for name in client.scan_iter(match='*::partial')
            )

        kill_mid_write(connector, key, KILLED_OBJECT_BYTES, writing)
        assert set(client.keys('*')) == before
        # The server drops the dead connection and its queued chunks.
        deadline = time.monotonic() + 30
        while _clients_in_transaction(client):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert set(client.keys('*')) == before
        assert connector.get(kept) == b'kept'
        if key is not None:
            assert not connector.exists(key)
            assert connector.get(key) is None
            assert connector.get_batch([key, kept]) == [None, b'kept']
            # The key can be written again.
            retry = random_bytes(2 * MIB + 1)
            connector.set(key, retry)
            assert connector.get(key) == retry
        connector.close()
        client.close()


def test_partial_list_of_an_earlier_version_is_replaced_and_evicted(
    redis_connector: RedisConnector,
    redis_client: redis.Redis,
) -> None:
    # Earlier versions built chunk lists at `<key>::partial`; a killed
    # writer left one behind. It never reads as an object, and writing or
    # evicting the key removes it.
    rewritten, evicted = redis_connector.new_key(), redis_connector.new_key()
    for key in (rewritten, evicted):
        redis_client.rpush(f'{key.redis_key}::partial', b'stale chunk')
        assert not redis_connector.exists(key)
        assert redis_connector.get(key) is None
    data = random_bytes(2 * MIB + 1)
    redis_connector.set(rewritten, data)
    redis_connector.evict(evicted)
    assert (
        redis_client.exists(
            f'{rewritten.redis_key}::partial',
            f'{evicted.redis_key}::partial',
        )
        == 0
    )
    assert redis_connector.get(rewritten) == data


def test_server_side_eviction_never_returns_corrupt_data() -> None:
    options = (
        '--maxmemory',
        '4mb',
        '--maxmemory-policy',
        'allkeys-random',
        '--proto-max-bulk-len',
        '1mb',
    )
    with redis_server_in_tmpdir(*options) as server:
        connector = RedisConnector(server.host, server.port)
        objs = [random_bytes(MIB + 1000 * i, seed=i) for i in range(12)]
        # Each put succeeds: the server makes room by evicting keys.
        keys = [connector.put(obj) for obj in objs]
        results = connector.get_batch(keys)
        assert None in results  # the server did evict
        for obj, result in zip(objs, results, strict=True):
            assert result is None or result == obj
        connector.close()


# --- documentation ----------------------------------------------------


DOC_EXAMPLES = doc_blocks('redis-and-multi.md')


@pytest.mark.parametrize(
    'source',
    DOC_EXAMPLES,
    ids=[f'block{i}' for i in range(len(DOC_EXAMPLES))],
)
def test_doc_examples_run(
    redis_server: RedisServer,
    tmp_path: pathlib.Path,
    source: str,
) -> None:
    env = {
        'REDIS_HOST': redis_server.host,
        'REDIS_PORT': str(redis_server.port),
    }
    run_example(source, tmp_path, env)
