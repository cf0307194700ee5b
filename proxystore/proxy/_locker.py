"""A holder that keeps a proxy from being resolved by accident."""

from __future__ import annotations

from typing import Any
from typing import Generic
from typing import TypeVar

from proxystore.proxy._proxy import Proxy

T = TypeVar('T')


class ProxyLocker(Generic[T]):
    """Hold a proxy so that nothing resolves it by accident.

    Code that inspects arbitrary objects (`isinstance` checks, attribute
    probing, serializers) resolves a bare proxy; a locker exposes nothing
    of its proxy until [`unlock()`][proxystore.proxy.ProxyLocker.unlock].
    Pickles as the proxy it holds (that is, as the proxy's factory).

    Args:
        proxy: The proxy to hold.
    """

    __module__ = 'proxystore.proxy'
    __slots__ = ('_proxy',)

    def __init__(self, proxy: Proxy[T]) -> None:
        self._proxy = proxy

    def unlock(self) -> Proxy[T]:
        """Return the held proxy."""
        return self._proxy

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self._proxy,))

    def __repr__(self) -> str:
        return f'{type(self).__name__}(<{type(self._proxy).__name__}>)'
