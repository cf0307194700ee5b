"""Exceptions raised by the Store package."""

from __future__ import annotations

from typing import Any

from proxystore.proxy import ProxyResolveError

__all__ = [
    'NonProxiableTypeError',
    'ProxyResolveMissingKeyError',
    'ProxyStoreFactoryError',
    'StoreClosedError',
    'StoreError',
    'StoreExistsError',
]


class StoreError(Exception):
    """Base class for errors raised by a store."""


class StoreExistsError(StoreError):
    """A store with the same name is already registered."""


class StoreClosedError(StoreError, RuntimeError):
    """The store was closed: it cannot be used any more.

    Raised by every operation of a closed
    [`Store`][proxystore.store.base.Store], whatever its connector, before
    the connector is touched. It is also a `RuntimeError`.
    """


class NonProxiableTypeError(StoreError, TypeError):
    """The object cannot be proxied (e.g., `None`, `True`, `Ellipsis`).

    The identity of these singletons (`x is None`) cannot be reproduced
    by a proxy, so proxying them would silently change program behavior.
    """


class ProxyStoreFactoryError(StoreError):
    """The proxy was not created by a store (no `StoreFactory`)."""


def non_store_factory_error(factory: Any) -> ProxyStoreFactoryError:
    """Return the error for a proxy whose factory is not a `StoreFactory`.

    Args:
        factory: The proxy's factory.
    """
    return ProxyStoreFactoryError(
        'The proxy must contain a factory with type StoreFactory. '
        f'{type(factory).__name__} is not supported.',
    )


class ProxyResolveMissingKeyError(ProxyResolveError, StoreError):
    """A proxy's object is not in its store.

    Args:
        key: Key of the missing object.
        store_type: Type of the store the proxy resolves through.
        store_name: Name of that store.
        reason: Why the object is probably missing (appended to the
            message). Defaults to the usual causes of an eviction.
    """

    def __init__(
        self,
        key: Any,
        store_type: type[Any],
        store_name: str,
        reason: str | None = None,
    ) -> None:
        self.key = key
        self.store_type = store_type
        self.store_name = store_name
        self.reason = reason
        if reason is None:
            reason = (
                'The object was probably evicted (e.g., by another proxy '
                'created with evict=True, a lifetime that ended, or an '
                'explicit evict).'
            )
        # Not ProxyResolveError.__init__: this error has no cause.
        Exception.__init__(
            self,
            f'Cannot resolve target object with key={key!r} from '
            f"{store_type.__name__}(name='{store_name}') because there is "
            f'no object associated with the key. {reason}',
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (self.key, self.store_type, self.store_name, self.reason),
        )
