"""Damaged stored objects raise `SerializationError` naming the key.

Issue 12: a truncated stored object used to deserialize to wrong data
(`deserialize(serialize(b'x' * 5000)[:10])` returned 9 bytes).
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Callable

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.file import FileKey
from proxystore.serialize import SerializationError
from proxystore.store import Store

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
