"""Helpers for proxies created by a store."""

from __future__ import annotations

from typing import Any

from proxystore.proxy import Proxy
from proxystore.proxy import get_factory
from proxystore.proxy import is_resolved
from proxystore.store.exceptions import non_store_factory_error
from proxystore.store.factory import StoreFactory
from proxystore.store.types import ConnectorKeyT


def get_store_factory(proxy: Proxy[Any]) -> StoreFactory[Any, Any]:
    """Return the `StoreFactory` of a proxy created by a store.

    The proxy is not resolved.

    Raises:
        ProxyStoreFactoryError: If the proxy's factory is not a
            `StoreFactory` (the proxy was not created by a store).
    """
    factory = get_factory(proxy)
    if not isinstance(factory, StoreFactory):
        raise non_store_factory_error(factory)
    return factory


def get_key(proxy: Proxy[Any]) -> ConnectorKeyT:
    """Return the key of the object a store proxy refers to.

    The proxy is not resolved.

    Raises:
        ProxyStoreFactoryError: If the proxy was not created by a store.
    """
    return get_store_factory(proxy).key


def resolve_async(proxy: Proxy[Any]) -> None:
    """Start resolving a store proxy in the background.

    Useful when a proxy will be needed soon: the object is fetched while
    other work proceeds, and the first use of the proxy waits for that
    fetch. Does nothing if the proxy is already resolved.

    Raises:
        ProxyStoreFactoryError: If the proxy was not created by a store.
    """
    factory = get_store_factory(proxy)
    if not is_resolved(proxy):
        factory.resolve_async()
