"""LocalConnector specifics."""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from proxystore.connectors.local import LocalConnector
from proxystore.connectors.local import LocalKey


def _read(config: dict[str, Any], key: LocalKey) -> bytes | None:
    data = LocalConnector.from_config(config).get(key)
    return None if data is None else bytes(data)


def test_include_data_in_config_reaches_spawned_process() -> None:
    with LocalConnector(include_data_in_config=True) as connector:
        key = connector.put(memoryview(b'carried'))
        config = connector.config()
        with ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context('spawn'),
        ) as pool:
            assert pool.submit(_read, config, key).result() == b'carried'


def test_config_without_data() -> None:
    connector = LocalConnector()
    key = connector.put(b'x')
    config = connector.config()
    assert config == {'include_data_in_config': False}
    assert LocalConnector.from_config(config).get(key) is None


def test_shared_store_dict() -> None:
    store: dict[LocalKey, bytes] = {}
    first = LocalConnector(store)
    second = LocalConnector(store)
    key = first.put(b'shared')
    assert second.get(key) == b'shared'
    second.evict(key)
    assert not first.exists(key)


def test_get_never_returns_writable_buffer() -> None:
    connector = LocalConnector()
    for data in [b'b', bytearray(b'ba'), memoryview(bytearray(b'mv'))]:
        stored = connector.get(connector.put(data))
        assert memoryview(stored).readonly  # type: ignore[arg-type]


def test_key_and_repr() -> None:
    connector = LocalConnector()
    key = connector.new_key()
    assert repr(key) == f"LocalKey(id='{key.id}')"
    connector.set(key, b'x')
    assert repr(connector) == 'LocalConnector(objects=1)'


@pytest.mark.parametrize('obj', [5, 'text', None, [1, 2]])
def test_put_rejects_non_bytes_like(obj: Any) -> None:
    connector = LocalConnector()
    kept = connector.put(b'kept')
    with pytest.raises(TypeError):
        connector.put(obj)
    with pytest.raises(TypeError):
        connector.set(connector.new_key(), obj)
    assert connector.get(kept) == b'kept'
    assert repr(connector) == 'LocalConnector(objects=1)'


def test_non_contiguous_buffer_is_stored_in_order() -> None:
    connector = LocalConnector()
    view = memoryview(b'a-b-c-d')[::2]
    assert bytes(connector.get(connector.put(view))) == b'abcd'
