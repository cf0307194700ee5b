"""The ProxyStore Store interface and the per-process store registry.

A store registered in this process can be looked up by name (or by one of
its proxies); proxies resolved in a process without a store of their name
create and register one from the configuration they carry.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Generator
from typing import Any
from typing import cast

from proxystore.proxy import Proxy
from proxystore.store.base import Store
from proxystore.store.config import StoreConfig
from proxystore.store.exceptions import StoreExistsError
from proxystore.store.utils import get_store_factory

__all__ = [
    'Store',
    'StoreConfig',
    'get_or_create_store',
    'get_store',
    'register_store',
    'store_registration',
    'unregister_store',
]

_stores: dict[str, Store[Any]] = {}
# Reentrant: creating a store with auto_register inside
# get_or_create_store registers it while the lock is held.
_stores_lock = threading.RLock()


def get_store(val: str | Proxy[Any]) -> Store[Any] | None:
    """Get a registered store by name, or the store of a proxy.

    Args:
        val: Name of the store, or a proxy created by a store (it is not
            resolved).

    Returns:
        The registered store, or `None` if no store with that name is
        registered.

    Raises:
        ProxyStoreFactoryError: If `val` is a proxy whose factory is not a
            [`StoreFactory`][proxystore.store.factory.StoreFactory].
    """
    # Check for a proxy first: isinstance() would resolve it.
    if issubclass(type(val), Proxy):
        proxy = cast(Proxy[Any], val)
        name = get_store_factory(proxy).store_config.name
    else:
        name = cast(str, val)
    return _stores.get(name)


def get_or_create_store(
    store_config: StoreConfig,
    *,
    register: bool = True,
) -> Store[Any]:
    """Get the registered store of a name, or create one from the config.

    Args:
        store_config: Configuration of the store, used to create a new
            instance if no store named `store_config.name` is registered.
        register: Register the store if a new instance was created.

    Returns:
        The registered store, or the new store.
    """
    store = _stores.get(store_config.name)
    if store is not None:
        return store
    with _stores_lock:
        store = _stores.get(store_config.name)
        if store is None:
            store = Store.from_config(store_config)
            if register:
                register_store(store)
        return store


def register_store(store: Store[Any], exist_ok: bool = False) -> None:
    """Register a store in this process's registry.

    Tip:
        [`store_registration()`][proxystore.store.store_registration]
        registers stores for the duration of a `with` block.

    Args:
        store: Store instance to register.
        exist_ok: If a store with the same name exists, replace it.

    Raises:
        StoreExistsError: If a store with the same name is already
            registered and `exist_ok` is `False`.
    """
    with _stores_lock:
        registered = _stores.get(store.name)
        if registered is not None and registered is not store and not exist_ok:
            raise StoreExistsError(
                f'A store named {store.name!r} is already registered: '
                f'{registered!r}. Use another name, unregister it first, or '
                'pass exist_ok=True to replace it.',
            )
        _stores[store.name] = store


def unregister_store(name_or_store: str | Store[Any]) -> None:
    """Remove a store from this process's registry.

    Does nothing if no such store is registered. Given a store instance,
    only that instance is removed (not another store of the same name).

    Args:
        name_or_store: Name of the store, or the store itself.
    """
    with _stores_lock:
        if isinstance(name_or_store, str):
            _stores.pop(name_or_store, None)
        elif _stores.get(name_or_store.name) is name_or_store:
            del _stores[name_or_store.name]


@contextlib.contextmanager
def store_registration(
    *stores: Store[Any],
    exist_ok: bool = False,
) -> Generator[None, None, None]:
    """Register stores for the duration of a `with` block.

    Example:
        ```python
        from proxystore.connectors.local import LocalConnector
        from proxystore.store import Store
        from proxystore.store import store_registration

        with Store('store', LocalConnector()) as store:
            with store_registration(store):
                ...
        ```

    Args:
        stores: Stores to register, then unregister when the block exits.
        exist_ok: If a store with the same name exists, replace it.

    Raises:
        StoreExistsError: If a store with the same name is already
            registered and `exist_ok` is `False` (nothing is registered
            then).
    """
    registered: list[Store[Any]] = []
    try:
        for store in stores:
            register_store(store, exist_ok=exist_ok)
            registered.append(store)
        yield
    finally:
        for store in registered:
            unregister_store(store)
