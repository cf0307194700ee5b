"""Closed stores, Store logging, and errors of process-local proxies."""

from __future__ import annotations

import logging
import pathlib
from collections.abc import Callable
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.proxy import ProxyResolveError
from proxystore.store import Store
from proxystore.store import get_store
from proxystore.store.exceptions import StoreClosedError
from proxystore.store.exceptions import StoreError
from proxystore.store.utils import get_key
from tests.store._errors import missing_key_error

OPERATIONS: dict[str, Callable[[Store[Any], Any], Any]] = {
    'put': lambda store, key: store.put('new'),
    'put_batch': lambda store, key: store.put_batch(['a', 'b']),
    'get': lambda store, key: store.get(key),
    'exists': lambda store, key: store.exists(key),
    'evict': lambda store, key: store.evict(key),
    'is_cached': lambda store, key: store.is_cached(key),
    'proxy': lambda store, key: store.proxy('new'),
    'proxy_batch': lambda store, key: store.proxy_batch(['a']),
    'proxy_from_key': lambda store, key: store.proxy_from_key(key),
    'locked_proxy': lambda store, key: store.locked_proxy('new'),
    'owned_proxy': lambda store, key: store.owned_proxy('new'),
    'future': lambda store, key: store.future(),
    '_set': lambda store, key: store._set(key, 'new'),
}


@pytest.fixture(params=['local', 'file', 'redis', 'shm'])
def open_store(
    request: pytest.FixtureRequest,
    tmp_path: pathlib.Path,
    store_name: str,
) -> Iterator[Store[Any]]:
    if request.param == 'local':
        connector: Any = LocalConnector()
    elif request.param == 'file':
        connector = FileConnector(str(tmp_path / 'store'))
    elif request.param == 'shm':
        from proxystore.connectors.shm import SharedMemoryConnector

        connector = SharedMemoryConnector()
    else:
        from proxystore.connectors.redis import RedisConnector

        server = request.getfixturevalue('redis_server')
        connector = RedisConnector(server.host, server.port, clear=True)
    store = Store(store_name, connector, register=True)
    yield store
    store.close()


@pytest.mark.parametrize('operation', sorted(OPERATIONS))
def test_closed_store_refuses_every_operation(
    open_store: Store[Any],
    operation: str,
) -> None:
    key = open_store.put('value')
    open_store.close()
    assert open_store.closed
    assert get_store(open_store.name) is None
    with pytest.raises(StoreClosedError, match='is closed') as info:
        OPERATIONS[operation](open_store, key)
    assert open_store.name in str(info.value)
    # Callers catching the usual bases still catch it.
    assert isinstance(info.value, StoreError)
    assert isinstance(info.value, RuntimeError)
    open_store.close()  # Closing again does nothing.


def test_store_config_of_closed_store_rebuilds_it(
    tmp_path: pathlib.Path,
    store_name: str,
) -> None:
    connector = FileConnector(str(tmp_path / 'store'), clear=False)
    store = Store(store_name, connector)
    key = store.put('kept')
    config = store.config()
    store.close()
    with pytest.raises(StoreClosedError):
        store.get(key)
    with Store.from_config(config) as again:
        assert again.get(key) == 'kept'


def test_proxy_of_closed_store_resolves_through_a_new_store(
    tmp_path: pathlib.Path,
    store_name: str,
) -> None:
    connector = FileConnector(str(tmp_path / 'store'), clear=False)
    store = Store(store_name, connector)
    proxy = store.proxy('value', populate_target=False)
    store.close()
    # As in ProxyStore: the proxy re-creates (and registers) its store.
    assert proxy == 'value'
    recreated = get_store(store_name)
    assert recreated is not None
    assert recreated is not store
    recreated.close()


def store_records(
    caplog: pytest.LogCaptureFixture,
    prefix: str = 'proxystore.store',
) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith(prefix)]


def test_store_logs_debug_per_operation(
    caplog: pytest.LogCaptureFixture,
    tmp_path: pathlib.Path,
    store_name: str,
) -> None:
    with caplog.at_level(logging.DEBUG, logger='proxystore'):
        store = Store(store_name, FileConnector(str(tmp_path / 'store')))
        key = store.put('value')
        store.get(key)
        store.get(key)
        store.exists(key)
        store.put_batch(['a', 'b'])
        proxy = store.proxy('p', populate_target=False)
        store.proxy_batch(['c'])
        from_key = store.proxy_from_key(get_key(proxy))
        assert proxy == 'p'
        assert from_key == 'p'
        store.evict(key)
        future = store.future()
        future.set_result(1)
        store.close()
    records = store_records(caplog)
    messages = [r.getMessage() for r in records]
    prefix = f'Store(name="{store_name}"): '
    expected = [
        f'PUT {key} in ',
        f'GET {key} (cached=False) in ',
        f'GET {key} (cached=True) in ',
        f'EXISTS {key} in ',
        'PUT_BATCH (2 items) ',
        f'PROXY {get_key(proxy)} in ',
        'PROXY_BATCH (1 items) ',
        f'PROXY_FROM_KEY {get_key(proxy)}',
        f'EVICT {key} in ',
        'FUTURE ',
        'SET ',
    ]
    for start in expected:
        assert any(m.startswith(prefix + start) for m in messages), start
    resolved = f'Resolved {get_key(proxy)} from Store(name='
    assert any(m.startswith(resolved) for m in messages)
    assert any(
        m.endswith(' ms') and m.startswith(prefix + 'PUT ') for m in messages
    )
    # Per operation, only DEBUG; INFO is for the store's life cycle.
    info = [r.getMessage() for r in records if r.levelno >= logging.INFO]
    assert info[0].startswith(f'Initialized Store(name={store_name}, ')
    assert info[1:] == [
        # Resolving the proxy registered its (unregistered) store.
        f'Registered a store named "{store_name}"',
        f'Unregistered a store named {store_name}',
        f'Closed Store(name="{store_name}")',
    ]
    assert {r.name for r in records if r.levelno == logging.DEBUG} >= {
        'proxystore.store.base',
        'proxystore.store.factory',
    }


def test_store_logs_nothing_per_operation_at_info(
    caplog: pytest.LogCaptureFixture,
    store_name: str,
) -> None:
    with Store(store_name, LocalConnector()) as store:
        with caplog.at_level(logging.INFO, logger='proxystore'):
            # Only the operations count: an earlier test may have left the
            # logger at INFO, so the connector's start-up record is dropped.
            caplog.clear()
            key = store.put('value')
            store.get(key)
            assert store.proxy('x') == 'x'
            store.evict(key)
            records = store_records(caplog, 'proxystore')
    assert records == []


def resolve_in_worker(proxy: Any) -> str:
    """Run in a spawned process: use the proxy, return the error text."""
    try:
        len(proxy)
    except ProxyResolveError as e:
        return str(missing_key_error(e))
    raise AssertionError('The proxy resolved.')  # pragma: no cover


def test_local_proxy_in_another_process_says_process_local(
    store_name: str,
    spawn_pool: ProcessPoolExecutor,
) -> None:
    with Store(store_name, LocalConnector()) as store:
        proxy = store.proxy([1, 2, 3], populate_target=False)
        message = spawn_pool.submit(resolve_in_worker, proxy).result()
    assert 'LocalConnector is process-local' in message
    assert 'cannot be resolved in another process' in message
    assert repr(get_key(proxy)) in message
    assert 'probably evicted' not in message


def test_local_proxy_evicted_in_this_process_says_evicted(
    store_name: str,
) -> None:
    with Store(store_name, LocalConnector()) as store:
        proxy = store.proxy([1, 2, 3], populate_target=False)
        store.evict(get_key(proxy))
        with pytest.raises(ProxyResolveError) as info:
            len(proxy)
    message = str(missing_key_error(info.value))
    assert 'probably evicted' in message
    assert 'process-local' not in message
