"""Shared connector suite: every connector runs these tests unchanged.

Only the public protocol (`proxystore.connectors.protocols`) is used, so a
new connector joins by adding a fixture (see `conftest.py`).
"""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from proxystore.connectors.protocols import Connector
from proxystore.connectors.protocols import DeferrableConnector
from proxystore.connectors.protocols import accepts_buffer_lists
from tests.connectors.conftest import ConnectorTraits

LARGE = 3 * (1 << 20) + 7  # crosses the 1 MiB large-buffer threshold


def _payload(size: int, seed: int = 0) -> bytes:
    return bytes((i * 31 + seed) % 251 for i in range(min(size, 4096))) * (
        size // 4096 + 1
    )


def _missing_key(connector: Any) -> Any:
    key = connector.put(b'soon gone')
    connector.evict(key)
    return key


def _as_bytes(data: Any) -> bytes | None:
    return None if data is None else bytes(data)


# Functions run in spawned worker processes (must be importable).
def _get_in_child(kind: type[Any], config: dict[str, Any], key: Any) -> Any:
    # Not closed: closing a copy may clear data the parent still owns.
    connector = kind.from_config(config)
    return _as_bytes(connector.get(key))


def _put_in_child(kind: type[Any], config: dict[str, Any], data: bytes) -> Any:
    return kind.from_config(config).put(data)


def _spawn_pool() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context('spawn'),
    )


def test_is_connector(connector: Any) -> None:
    assert isinstance(connector, Connector)


def test_put_get_exists_evict(connector: Any) -> None:
    key = connector.put(b'value')
    assert connector.exists(key)
    assert _as_bytes(connector.get(key)) == b'value'
    connector.evict(key)
    assert not connector.exists(key)
    assert connector.get(key) is None


def test_missing_key(connector: Any) -> None:
    other = connector.put(b'other')
    key = _missing_key(connector)
    assert connector.get(key) is None
    assert not connector.exists(key)
    connector.evict(key)  # no-op
    assert _as_bytes(connector.get(other)) == b'other'


def test_keys_are_unique(connector: Any) -> None:
    keys = [connector.put(b'same') for _ in range(5)]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize(
    'make',
    [bytes, bytearray, memoryview, lambda b: memoryview(b).toreadonly()],
    ids=['bytes', 'bytearray', 'memoryview', 'readonly-memoryview'],
)
def test_bytes_like_input(connector: Any, make: Any) -> None:
    data = b'0123456789'
    key = connector.put(make(data))
    assert _as_bytes(connector.get(key)) == data


def test_memoryview_slice_input(connector: Any) -> None:
    key = connector.put(memoryview(b'xxhelloxx')[2:-2])
    assert _as_bytes(connector.get(key)) == b'hello'


def test_buffer_list_input(connector: Any) -> None:
    if not accepts_buffer_lists(connector):
        pytest.skip('connector takes single buffers only')
    big = _payload(LARGE)
    parts = [b'head', memoryview(b'--body--')[2:-2], bytearray(b''), big]
    key = connector.put(parts)
    assert _as_bytes(connector.get(key)) == b'headbody' + big
    if isinstance(connector, DeferrableConnector):
        key = connector.new_key()
        connector.set(key, (b'a', b'b'))
        assert _as_bytes(connector.get(key)) == b'ab'


def test_writable_input_changed_after_put(connector: Any) -> None:
    data = bytearray(b'original')
    key = connector.put(data)
    data[:] = b'MUTATED!'
    assert _as_bytes(connector.get(key)) == b'original'


def test_empty_object(connector: Any) -> None:
    key = connector.put(b'')
    assert connector.exists(key)
    assert _as_bytes(connector.get(key)) == b''


def test_large_object(connector: Any) -> None:
    data = _payload(LARGE)
    key = connector.put(data)
    assert _as_bytes(connector.get(key)) == data


def test_get_result_owned_by_caller(connector: Any) -> None:
    key = connector.put(b'abc')
    first = connector.get(key)
    if not memoryview(first).readonly:
        memoryview(first)[:] = b'xyz'
    assert _as_bytes(connector.get(key)) == b'abc'


def test_batch_order_and_missing(connector: Any) -> None:
    datas = [b'zero', bytearray(b'one'), memoryview(b'two'), b'three']
    keys = connector.put_batch(datas)
    assert len(keys) == len(datas)
    connector.evict(keys[2])
    results = [_as_bytes(r) for r in connector.get_batch(keys)]
    assert results == [b'zero', b'one', None, b'three']
    assert [_as_bytes(r) for r in connector.get_batch(keys[::-1])] == [
        b'three',
        None,
        b'one',
        b'zero',
    ]


def test_empty_batches(connector: Any) -> None:
    assert list(connector.put_batch([])) == []
    assert list(connector.get_batch([])) == []


def test_key_properties(connector: Any) -> None:
    key = connector.put(b'k')
    assert isinstance(key, tuple)  # NamedTuple
    assert hash(key) == hash(pickle.loads(pickle.dumps(key)))
    assert pickle.loads(pickle.dumps(key)) == key
    text = repr(key)
    assert text.startswith(type(key).__name__ + '(')
    assert ' at 0x' not in text


def test_deferrable_new_key_then_set(connector: Any) -> None:
    if not isinstance(connector, DeferrableConnector):
        pytest.skip('connector is not a DeferrableConnector')
    key = connector.new_key()
    assert not connector.exists(key)
    assert connector.get(key) is None
    connector.set(key, bytearray(b'later'))
    assert connector.exists(key)
    assert _as_bytes(connector.get(key)) == b'later'


def test_deferrable_new_key_with_object(connector: Any) -> None:
    if not isinstance(connector, DeferrableConnector):
        pytest.skip('connector is not a DeferrableConnector')
    data = b'hint'
    key = connector.new_key(data)
    connector.set(key, data)
    assert _as_bytes(connector.get(key)) == data
    assert connector.new_key() != key


def test_config_round_trip(
    connector: Any,
    connector_traits: ConnectorTraits,
) -> None:
    config = connector.config()
    assert isinstance(config, dict)
    config = pickle.loads(pickle.dumps(config))
    if not connector_traits.config_reaches_data:
        assert type(connector).from_config(config).config() == config
        return
    key = connector.put(b'shared')
    copy = type(connector).from_config(config)
    assert isinstance(copy, type(connector))
    # Not closed: it shares the data with the fixture's connector.
    assert _as_bytes(copy.get(key)) == b'shared'
    other = copy.put(b'from copy')
    assert _as_bytes(connector.get(other)) == b'from copy'


def test_config_reaches_data_in_spawned_process(
    connector: Any,
    connector_traits: ConnectorTraits,
) -> None:
    if not connector_traits.config_reaches_data:
        pytest.skip('connector config does not carry a route to its data')
    key = connector.put(b'to child')
    missing = _missing_key(connector)
    kind, config = type(connector), connector.config()
    with _spawn_pool() as pool:
        assert pool.submit(_get_in_child, kind, config, key).result() == (
            b'to child'
        )
        assert pool.submit(_get_in_child, kind, config, missing).result() is (
            None
        )
        child_key = pool.submit(_put_in_child, kind, config, b'up').result()
    assert _as_bytes(connector.get(child_key)) == b'up'


def test_context_manager(connector: Any) -> None:
    closed = []
    close = connector.close

    def spy(*args: Any, **kwargs: Any) -> None:
        closed.append(True)

    connector.close = spy
    try:
        with connector as entered:
            assert entered is connector
        assert closed == [True]
    finally:
        connector.close = close
