"""Futures to objects that will be put in a store later."""

from __future__ import annotations

from typing import Any
from typing import Generic
from typing import TypeVar

from proxystore.proxy import Proxy
from proxystore.store.factory import PollingStoreFactory
from proxystore.store.types import SerializerT

T = TypeVar('T')


class Future(Generic[T]):
    """Future to an object in a store, created by `Store.future()`.

    The future is picklable: send it to another process, which sets the
    result with [`set_result()`][proxystore.store.future.Future.set_result],
    while any process waits with
    [`result()`][proxystore.store.future.Future.result] or uses a proxy
    from [`proxy()`][proxystore.store.future.Future.proxy].

    Warning:
        Experimental: this interface may change.

    Args:
        factory: Factory that polls the store for the future's key.
        serializer: Optionally override the store's serializer when setting
            the result.
    """

    def __init__(
        self,
        factory: PollingStoreFactory[Any, T],
        *,
        serializer: SerializerT | None = None,
    ) -> None:
        self.factory = factory
        self.serializer = serializer

    def __repr__(self) -> str:
        return f'{type(self).__name__}(key={self.factory.key!r})'

    def done(self) -> bool:
        """Check if the result has been set."""
        return self.factory.get_store().exists(self.factory.key)

    def result(self) -> T:
        """Get the result, waiting until it is set.

        Raises:
            ProxyResolveMissingKeyError: If the factory's
                `polling_timeout` passes first.
        """
        return self.factory.resolve()

    def set_result(self, obj: Any) -> None:
        """Set the result of the future.

        Call this once: connectors are write-once, read-many.

        Args:
            obj: Result object.

        Raises:
            TypeError: If the serializer's output is not bytes-like.
        """
        self.factory.get_store()._set(
            self.factory.key,
            obj,
            serializer=self.serializer,
        )

    def proxy(self) -> Proxy[T]:
        """Create a proxy that resolves to the result of the future.

        Resolving the proxy blocks until the result is set.
        """
        return Proxy(self.factory)
