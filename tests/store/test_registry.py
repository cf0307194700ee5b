from __future__ import annotations

from typing import Any

import pytest

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
    register_store(local_store)  # Same instance again: fine.
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


def test_unregister_by_instance_spares_others(local_store: Store[Any]) -> None:
    other = Store(local_store.name, LocalConnector())
    register_store(other)
    unregister_store(local_store)  # Not the registered instance.
    assert get_store(local_store.name) is other
    unregister_store(other)
    assert get_store(local_store.name) is None


def test_store_register_flag(store_name: str) -> None:
    store = Store(store_name, LocalConnector(), register=True)
    assert get_store(store_name) is store
    with pytest.raises(StoreExistsError):
        Store(store_name, LocalConnector(), register=True)
    store.close()
    assert get_store(store_name) is None


def test_get_store_by_proxy(local_store: Store[Any]) -> None:
    proxy = local_store.proxy('value')
    assert get_store(proxy) is None
    with store_registration(local_store):
        assert get_store(proxy) is local_store
    with pytest.raises(ProxyStoreFactoryError):
        get_store(Proxy(SimpleFactory('value')))


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
