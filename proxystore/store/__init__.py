"""The ProxyStore Store interface and the per-process store registry.

A store registered in this process can be looked up by name (or by one of
its proxies); proxies resolved in a process without a store of their name
create and register one from the configuration they carry. The registry
lives in [`proxystore.store.registry`][proxystore.store.registry]; its
functions are importable from here.
"""

from __future__ import annotations

from proxystore.connectors.protocols import Connector as Connector
from proxystore.proxy import get_factory as get_factory
from proxystore.store.base import Store
from proxystore.store.config import StoreConfig
from proxystore.store.exceptions import (
    ProxyStoreFactoryError as ProxyStoreFactoryError,
)
from proxystore.store.exceptions import StoreExistsError as StoreExistsError
from proxystore.store.factory import StoreFactory
from proxystore.store.registry import _stores as _stores
from proxystore.store.registry import (
    get_or_create_store as get_or_create_store,
)
from proxystore.store.registry import get_store
from proxystore.store.registry import register_store
from proxystore.store.registry import store_registration
from proxystore.store.registry import unregister_store
from proxystore.store.types import ConnectorT as ConnectorT

__all__ = [
    'Store',
    'StoreConfig',
    'StoreFactory',
    'get_store',
    'register_store',
    'store_registration',
    'unregister_store',
]
