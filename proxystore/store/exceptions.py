"""Exceptions raised by the Store package."""

from __future__ import annotations

from typing import Any

from proxystore.proxy import ProxyResolveError


class StoreError(Exception):
    """Base class for errors raised by a store."""


class StoreExistsError(StoreError):
    """A store with the same name is already registered."""


class NonProxiableTypeError(StoreError, TypeError):
    """The object cannot be proxied (e.g., `None`, `True`, `Ellipsis`).

    The identity of these singletons (`x is None`) cannot be reproduced
    by a proxy, so proxying them would silently change program behavior.
    """


class ProxyStoreFactoryError(StoreError):
    """The proxy was not created by a store (no `StoreFactory`)."""


class ProxyResolveMissingKeyError(ProxyResolveError, StoreError):
    """A proxy's object is no longer in its store.

    Raised unchanged when resolving the proxy, so the user sees which key
    and which store were involved.

    Args:
        key: Key of the missing object.
        store_type: Type of the store the proxy resolves through.
        store_name: Name of that store.
    """

    def __init__(
        self,
        key: Any,
        store_type: type[Any],
        store_name: str,
    ) -> None:
        self.key = key
        self.store_type = store_type
        self.store_name = store_name
        super().__init__(
            f'Cannot resolve the proxy: no object with key {key!r} exists '
            f'in {store_type.__name__}(name={store_name!r}). The object was '
            f'probably evicted (e.g., by another proxy created with '
            f'evict=True, a lifetime that ended, or an explicit evict).',
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.key, self.store_type, self.store_name))
