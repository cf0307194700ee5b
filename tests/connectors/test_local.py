"""LocalConnector specifics."""

from __future__ import annotations

import logging
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
    assert repr(connector) == 'LocalConnector()'


@pytest.mark.parametrize('obj', [5, 'text', None, [1, 2]])
def test_put_rejects_non_bytes_like(obj: Any) -> None:
    connector = LocalConnector()
    kept = connector.put(b'kept')
    with pytest.raises(TypeError):
        connector.put(obj)
    with pytest.raises(TypeError):
        connector.set(connector.new_key(), obj)
    with pytest.raises(TypeError):
        connector.put_batch([b'fine', obj])
    assert connector.get(kept) == b'kept'
    assert connector._store == {kept: b'kept'}


def test_non_contiguous_buffer_is_stored_in_order() -> None:
    connector = LocalConnector()
    view = memoryview(b'a-b-c-d')[::2]
    assert bytes(connector.get(connector.put(view))) == b'abcd'


def test_config_shares_the_same_dict_in_process() -> None:
    connector = LocalConnector(include_data_in_config=True)
    before = connector.put(b'before')
    config = connector.config()
    assert config['store_dict'] is connector._store
    copy = LocalConnector.from_config(config)
    after = connector.put(b'after')
    # Live-shared both ways, including objects put after config().
    assert copy.get(before) == b'before'
    assert copy.get(after) == b'after'
    assert connector.get(copy.put(b'from copy')) == b'from copy'


def test_include_data_in_config_keeps_values_picklable() -> None:
    import pickle

    connector = LocalConnector(include_data_in_config=True)
    key = connector.put(memoryview(b'view').toreadonly())
    config = pickle.loads(pickle.dumps(connector.config()))
    assert LocalConnector.from_config(config).get(key) == b'view'


def test_capability_flag() -> None:
    assert LocalConnector.config_reaches_data is False


def test_logging(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger='proxystore.connectors.local')
    with LocalConnector() as connector:
        key = connector.put(b'x')
        connector.get(key)
        connector.evict(key)
    records = [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name == 'proxystore.connectors.local'
    ]
    info = [m for level, m in records if level == logging.INFO]
    assert info == ['Initialized LocalConnector()', 'Closed LocalConnector()']
    debug = [m for level, m in records if level == logging.DEBUG]
    assert any(m.startswith('PUT') and key.id in m for m in debug)
    assert any(m.startswith('GET') and key.id in m for m in debug)
    assert any(m.startswith('EVICT') and key.id in m for m in debug)
