from __future__ import annotations

import logging
import pathlib
import pickle
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy
from proxystore.store import Store
from proxystore.store import get_or_create_store
from proxystore.store import get_store
from proxystore.store import register_store
from proxystore.store import store_registration
from proxystore.store import unregister_store
from proxystore.store.exceptions import ProxyStoreFactoryError
from proxystore.store.exceptions import StoreExistsError


def test_register_get_unregister(local_store: Store[Any]) -> None:
    assert get_store(local_store.name) is None
    register_store(local_store)
    assert get_store(local_store.name) is local_store
    # The same instance again is refused too, as in ProxyStore.
    with pytest.raises(
        StoreExistsError,
        match=f'A store named "{local_store.name}" already exists.',
    ):
        register_store(local_store)
    register_store(local_store, exist_ok=True)
    assert get_store(local_store.name) is local_store
    unregister_store(local_store.name)
    assert get_store(local_store.name) is None
    unregister_store(local_store.name)  # Missing: no-op.


def test_duplicate_name(local_store: Store[Any]) -> None:
    register_store(local_store)
    other = Store(local_store.name, LocalConnector())
    with pytest.raises(StoreExistsError, match=local_store.name):
        register_store(other)
    assert get_store(local_store.name) is local_store
    register_store(other, exist_ok=True)
    assert get_store(local_store.name) is other


def test_unregister_store_removes_by_name(local_store: Store[Any]) -> None:
    other = Store(local_store.name, LocalConnector())
    register_store(other)
    # Given a store, the store registered under its name is removed.
    unregister_store(local_store)
    assert get_store(local_store.name) is None
    unregister_store(other)  # Missing: no-op.
    assert get_store(local_store.name) is None


def test_closing_an_unregistered_store_spares_the_registered_one(
    local_store: Store[Any],
) -> None:
    other = Store(local_store.name, LocalConnector())
    register_store(other)
    local_store.close()
    assert get_store(local_store.name) is other


def test_store_register_flag(store_name: str) -> None:
    store = Store(store_name, LocalConnector(), register=True)
    assert get_store(store_name) is store
    with pytest.raises(StoreExistsError):
        Store(store_name, LocalConnector(), register=True)
    store.close()
    assert get_store(store_name) is None


def test_get_store_by_proxy(local_store: Store[Any]) -> None:
    proxy = local_store.proxy('value')
    # The store of the proxy, which is registered from then on.
    assert get_store(proxy) is local_store
    assert get_store(local_store.name) is local_store
    unregister_store(local_store)
    with store_registration(local_store):
        assert get_store(proxy) is local_store
    with pytest.raises(
        ProxyStoreFactoryError,
        match=(
            'The proxy must contain a factory with type StoreFactory. '
            'SimpleFactory is not supported.'
        ),
    ):
        get_store(Proxy(SimpleFactory('value')))


def test_get_store_by_proxy_recreates_in_this_process(
    tmp_path: pathlib.Path,
    store_name: str,
) -> None:
    store = Store(store_name, FileConnector(str(tmp_path / 'store')))
    proxy = store.proxy('value', populate_target=False)
    store.close(clear=False)
    clone = pickle.loads(pickle.dumps(proxy))
    created = get_store(clone)
    assert created is not None
    assert created is not store
    assert get_store(store_name) is created
    assert get_store(clone) is created
    assert clone == 'value'
    created.close()


def get_store_in_worker(proxy: Any) -> tuple[str | None, bool, Any]:
    """Run in a spawned process: look the proxy's store up."""
    store = get_store(proxy)
    name = None if store is None else store.name
    return name, get_store(name or '') is store, list(proxy)


def test_get_store_by_proxy_in_spawned_worker(
    tmp_path: pathlib.Path,
    store_name: str,
    spawn_pool: ProcessPoolExecutor,
) -> None:
    connector = FileConnector(str(tmp_path / 'store'))
    with Store(store_name, connector) as store:
        proxy = store.proxy([1, 2], populate_target=False)
        name, registered, value = spawn_pool.submit(
            get_store_in_worker,
            proxy,
        ).result()
    assert name == store_name
    assert registered
    assert value == [1, 2]


def test_registry_logs_at_info(
    local_store: Store[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger='proxystore.store'):
        register_store(local_store)
        unregister_store(local_store)
    messages = [
        r.getMessage() for r in caplog.records if r.name == 'proxystore.store'
    ]
    assert messages == [
        f'Registered a store named "{local_store.name}"',
        f'Unregistered a store named {local_store.name}',
    ]
    assert all(r.levelno == logging.INFO for r in caplog.records)


def test_registry_module_is_reexported() -> None:
    import proxystore.store
    import proxystore.store.registry as registry

    for name in registry.__all__:
        if name != 'find_open_store':
            assert getattr(proxystore.store, name) is getattr(registry, name)
    assert proxystore.store.__all__ == [
        'Store',
        'StoreConfig',
        'StoreFactory',
        'get_store',
        'register_store',
        'store_registration',
        'unregister_store',
    ]
    for name in (
        'ProxyStoreFactoryError',
        'StoreExistsError',
        'get_factory',
        'Connector',
        'ConnectorT',
    ):
        assert hasattr(proxystore.store, name), name


def test_get_or_create_store(local_store: Store[Any]) -> None:
    config = local_store.config()
    created = get_or_create_store(config)
    assert created is not local_store
    assert get_store(local_store.name) is created
    assert get_or_create_store(config) is created
    unregister_store(created)

    unregistered = get_or_create_store(config, register=False)
    assert get_store(local_store.name) is None
    assert unregistered is not created


def test_get_or_create_with_auto_register(store_name: str) -> None:
    store = Store(store_name, LocalConnector(), register=True)
    config = store.config()
    assert config.auto_register
    store.close()
    created = get_or_create_store(config)
    assert get_store(store_name) is created


def test_store_registration(store_name: str) -> None:
    stores = [
        Store(f'{store_name}-1', LocalConnector()),
        Store(f'{store_name}-2', LocalConnector()),
    ]
    with store_registration(*stores):
        assert get_store(stores[0].name) is stores[0]
        assert get_store(stores[1].name) is stores[1]
    assert get_store(stores[0].name) is None
    assert get_store(stores[1].name) is None


def test_store_registration_conflict_registers_nothing(
    local_store: Store[Any],
) -> None:
    register_store(local_store)
    fresh = Store(f'{local_store.name}-fresh', LocalConnector())
    clash = Store(local_store.name, LocalConnector())
    with pytest.raises(StoreExistsError):
        with store_registration(fresh, clash):
            pass  # pragma: no cover
    assert get_store(fresh.name) is None
    assert get_store(local_store.name) is local_store


@pytest.mark.skipif(sys.version_info < (3, 11), reason='notes need 3.11+')
def test_register_flag_conflict_has_a_note(store_name: str) -> None:
    store = Store(store_name, LocalConnector(), register=True)
    with pytest.raises(StoreExistsError) as info:
        Store(store_name, LocalConnector(), register=True)
    assert any(
        f'get_store("{store_name}")' in note
        for note in getattr(info.value, '__notes__', [])
    )
    store.close()
