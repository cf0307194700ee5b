"""The per-process registry of stores.

A store registered in this process can be looked up by name, or by one of
its proxies. A proxy resolved in a process that has no store of its name
(e.g., a remote worker) creates one from the configuration it carries and
registers it, so `get_store(proxy)` never returns `None` for a store proxy.

The registry also tracks every open store of the process (registered or
not), so that a proxy unpickled here resolves through the store that
created it.

Every name here is also importable from
[`proxystore.store`][proxystore.store].
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import weakref
from collections.abc import Generator
from typing import TYPE_CHECKING
from typing import Any
from typing import cast

from proxystore.proxy import Proxy
from proxystore.proxy import get_factory
from proxystore.store.exceptions import StoreExistsError
from proxystore.store.exceptions import non_store_factory_error

if TYPE_CHECKING:
    from proxystore.store.base import Store
    from proxystore.store.config import StoreConfig

__all__ = [
    'find_open_store',
    'get_or_create_store',
    'get_store',
    'register_store',
    'store_registration',
    'unregister_store',
]

# The registry's public home is the `proxystore.store` package.
logger = logging.getLogger('proxystore.store')

_stores: dict[str, Store[Any]] = {}
# Reentrant: creating a store with auto_register inside
# get_or_create_store registers it while the lock is held.
_stores_lock = threading.RLock()
# Every open store of this process, registered or not.
_open_stores: weakref.WeakSet[Store[Any]] = weakref.WeakSet()


def get_store(val: str | Proxy[Any]) -> Store[Any] | None:
    """Get a registered store by name, or the store of a proxy.

    Args:
        val: Name of the store, or a proxy created by a store (it is not
            resolved).

    Returns:
        Given a name, the registered store or `None`. Given a proxy, its
        store: if no store of that name is registered in this process, one
        is created from the proxy's configuration and registered.

    Raises:
        ProxyStoreFactoryError: If `val` is a proxy whose factory is not a
            [`StoreFactory`][proxystore.store.factory.StoreFactory].
    """
    # Check for a proxy first: isinstance() would resolve it.
    if issubclass(type(val), Proxy):
        # The factory module sits above the registry (it uses it).
        from proxystore.store.factory import StoreFactory

        factory = get_factory(cast(Proxy[Any], val))
        if not isinstance(factory, StoreFactory):
            raise non_store_factory_error(factory)
        return factory.get_store()
    return _stores.get(cast(str, val))


def get_or_create_store(
    store_config: StoreConfig,
    *,
    register: bool = True,
) -> Store[Any]:
    """Get the registered store of a name, or create one from the config.

    Args:
        store_config: Configuration of the store, used to create a new
            instance if no store named `store_config.name` is registered.
        register: Register the store if a new instance was created. With
            `False`, nothing is registered (unless the configuration has
            `auto_register=True`).

    Returns:
        The registered store, or the new store.
    """
    store = _stores.get(store_config.name)
    if store is not None:
        return store
    # The Store class sits above the registry (it registers itself).
    from proxystore.store.base import Store

    with _stores_lock:
        store = _stores.get(store_config.name)
        if store is None:
            store = Store.from_config(store_config)
            if register:
                register_store(store, exist_ok=True)
        return store


def register_store(store: Store[Any], exist_ok: bool = False) -> None:
    """Register a store in this process's registry.

    Note:
        Global means globally accessible within the Python process.

    Tip:
        [`store_registration()`][proxystore.store.store_registration]
        registers stores for the duration of a `with` block.

    Args:
        store: Store instance to register.
        exist_ok: If a store with the same name exists, replace it.

    Raises:
        StoreExistsError: If a store with the same name is already
            registered (even the same instance) and `exist_ok` is `False`.
    """
    with _stores_lock:
        if store.name in _stores and not exist_ok:
            error = StoreExistsError(
                f'A store named "{store.name}" already exists.',
            )
            if sys.version_info >= (3, 11):  # pragma: >=3.11 cover
                error.add_note(
                    f'Use get_store("{store.name}") to get the registered '
                    'store, unregister it first, or pass exist_ok=True to '
                    'replace it.',
                )
            raise error
        _stores[store.name] = store
    logger.info('Registered a store named "%s"', store.name)


def register_if_absent(store: Store[Any]) -> None:
    """Register `store` unless a store of its name is registered.

    Used when a proxy resolves through a store that is not registered, so
    that afterwards, as in ProxyStore, a store of that name is registered.
    """
    if store.name in _stores or store.closed:
        return
    with _stores_lock:
        if store.name in _stores:
            return
        _stores[store.name] = store
    logger.info('Registered a store named "%s"', store.name)


def unregister_store(name_or_store: str | Store[Any]) -> None:
    """Remove a store from this process's registry.

    Does nothing if no such store is registered. Given a store instance,
    the store registered under its name is removed (whichever instance it
    is).

    Args:
        name_or_store: Name of the store, or the store itself.
    """
    name = (
        name_or_store if isinstance(name_or_store, str) else name_or_store.name
    )
    with _stores_lock:
        removed = _stores.pop(name, None)
    if removed is not None:
        logger.info('Unregistered a store named %s', name)


def _unregister_instance(store: Store[Any]) -> None:
    """Remove `store` if it is the registered store of its name."""
    with _stores_lock:
        if _stores.get(store.name) is not store:
            return
        del _stores[store.name]
    logger.info('Unregistered a store named %s', store.name)


def _track_open(store: Store[Any]) -> None:
    _open_stores.add(store)


def _forget_open(store: Store[Any]) -> None:
    _open_stores.discard(store)


def find_open_store(config: StoreConfig) -> Store[Any] | None:
    """Find an open store of this process that matches a configuration.

    A store matches if it has the same name and connector configuration.

    Args:
        config: Store configuration (e.g., the one a proxy carries).

    Returns:
        The first matching open store, or `None`.
    """
    for store in list(_open_stores):
        if store.name == config.name and store._matches(config):
            return store
    return None


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
        stores: Stores to register, then unregister when the block exits
            (also when it raises).
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
