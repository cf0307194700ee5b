"""Damaged stored objects raise `SerializationError` naming the key.

Issue 12: a truncated stored object used to deserialize to wrong data
(`deserialize(serialize(b'x' * 5000)[:10])` returned 9 bytes).
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable
from typing import cast

import pytest
import redis

from proxystore.connectors.file import FileConnector
from proxystore.connectors.file import FileKey
from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.redis import RedisKey
from proxystore.serialize import SerializationError
from proxystore.store import Store
from tests.fixtures.redis import RedisServer

DAMAGES: dict[str, Callable[[bytes], bytes]] = {
    'truncated': lambda data: data[:10],
    'cut-by-one': lambda data: data[:-1],
    'extended': lambda data: data + b'\x00',
    'length-flipped': lambda data: data[:1] + bytes([data[1] ^ 1]) + data[2:],
}


@pytest.mark.parametrize('damage', DAMAGES.values(), ids=DAMAGES.keys())
@pytest.mark.parametrize(
    'obj',
    [b'x' * 5000, 'text' * 1000, {'a': list(range(500))}],
    ids=['bytes', 'str', 'pickle'],
)
def test_damaged_file_raises_naming_key_and_touches_nothing_else(
    tmp_path: pathlib.Path,
    damage: Callable[[bytes], bytes],
    obj: object,
) -> None:
    connector = FileConnector(str(tmp_path / 'store'))
    with Store('damaged', connector, cache_size=0) as store:
        key = FileKey(*store.put(obj))
        other = FileKey(*store.put(obj))
        path = pathlib.Path(connector.store_dir) / key.filename
        path.write_bytes(damage(path.read_bytes()))
        with pytest.raises(SerializationError) as info:
            store.get(key)
        assert key.filename in str(info.value)
        assert 'Failed to deserialize' in str(info.value.__cause__)
        # The damaged object is left for inspection; others are intact.
        assert store.exists(key)
        assert store.get(other) == obj
        assert sorted(os.listdir(connector.store_dir)) == sorted(
            [key.filename, other.filename],
        )


@pytest.mark.parametrize('damage', DAMAGES.values(), ids=DAMAGES.keys())
@pytest.mark.parametrize('size', [5000, 3 << 20], ids=['whole', 'chunked'])
def test_damaged_redis_value_raises_naming_key_and_touches_nothing_else(
    redis_server: RedisServer,
    redis_client: redis.Redis,
    damage: Callable[[bytes], bytes],
    size: int,
) -> None:
    # The session server limits bulk strings to 1 MiB: 3 MiB is chunked.
    obj = os.urandom(size)
    connector = RedisConnector(redis_server.host, redis_server.port)
    with Store('damaged-redis', connector, cache_size=0) as store:
        key = RedisKey(*store.put(obj))
        other = RedisKey(*store.put(obj))
        name = key.redis_key
        if redis_client.type(name) == b'list':
            # The first chunk is at the bulk limit: a longer one would be
            # refused, so data is appended to the last chunk instead.
            index = -1 if damage is DAMAGES['extended'] else 0
            chunk = cast(bytes, redis_client.lindex(name, index))
            redis_client.lset(name, index, damage(chunk))  # type: ignore[arg-type]
        else:
            redis_client.set(name, damage(cast(bytes, redis_client.get(name))))
        stored = set(cast('list[bytes]', redis_client.keys('*')))
        with pytest.raises(SerializationError) as info:
            store.get(key)
        assert name in str(info.value)
        assert 'Failed to deserialize' in str(info.value.__cause__)
        # The damaged object is left for inspection; others are intact.
        assert store.exists(key)
        assert store.get(other) == obj
        assert set(cast('list[bytes]', redis_client.keys('*'))) == stored
        store.evict(key)
        store.evict(other)
