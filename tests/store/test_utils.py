from __future__ import annotations

import collections.abc
import typing
from typing import Any
from typing import TypeVar

import pytest

from proxystore.connectors.local import LocalConnector
from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved
from proxystore.store import Store
from proxystore.store.exceptions import NonProxiableTypeError
from proxystore.store.exceptions import ProxyStoreFactoryError
from proxystore.store.exceptions import StoreError
from proxystore.store.exceptions import StoreExistsError
from proxystore.store.factory import StoreFactory
from proxystore.store.types import ConnectorKeyT
from proxystore.store.types import ConnectorT
from proxystore.store.types import DeserializerT
from proxystore.store.types import SerializerT
from proxystore.store.utils import get_key
from proxystore.store.utils import get_store_factory
from proxystore.utils.buffers import BytesLike


def test_get_key(local_store: Store[Any]) -> None:
    key = local_store.put('value')
    proxy = local_store.proxy_from_key(key)
    assert get_key(proxy) == key
    assert isinstance(get_store_factory(proxy), StoreFactory)
    assert not is_resolved(proxy)


def test_get_key_of_foreign_proxy() -> None:
    with pytest.raises(
        ProxyStoreFactoryError,
        match=(
            '^The proxy must contain a factory with type StoreFactory. '
            'SimpleFactory is not supported.$'
        ),
    ):
        get_key(Proxy(SimpleFactory('value')))


def test_exception_hierarchy() -> None:
    assert issubclass(StoreExistsError, StoreError)
    assert issubclass(ProxyStoreFactoryError, StoreError)
    assert issubclass(NonProxiableTypeError, StoreError)
    assert issubclass(NonProxiableTypeError, TypeError)


def test_types() -> None:
    assert isinstance(ConnectorT, TypeVar)
    assert ConnectorT.__bound__ is not None
    assert 'Connector' in str(ConnectorT.__bound__)
    assert ConnectorKeyT == tuple[Any, ...]
    for alias in (SerializerT, DeserializerT):
        assert typing.get_origin(alias) is collections.abc.Callable
    assert typing.get_args(SerializerT) == ([Any], BytesLike)
    assert typing.get_args(DeserializerT)[0] == [BytesLike]
    # A store is generic in its connector type.
    with Store[LocalConnector]('typed', LocalConnector()) as store:
        assert store.get(store.put('value')) == 'value'
