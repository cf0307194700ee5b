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
    Reading `locker._proxy` raises `AttributeError`. Pickles as the proxy
    it holds (that is, as the proxy's factory).

    Args:
        proxy: The proxy to hold.
    """

    __module__ = 'proxystore.proxy'
    __slots__ = ('_proxy',)

    def __init__(self, proxy: Proxy[T]) -> None:
        object.__setattr__(self, '_proxy', proxy)

    def __getattribute__(self, name: str) -> Any:
        if name == '_proxy':
            raise AttributeError('Cannot access proxy attribute of a Locker')
        return object.__getattribute__(self, name)

    def unlock(self) -> Proxy[T]:
        """Return the held proxy."""
        return _held(self)  # type: ignore[no-any-return]

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (_held(self),))

    def __repr__(self) -> str:
        return f'{type(self).__name__}(<{type(_held(self)).__name__}>)'


_held = ProxyLocker.__dict__['_proxy'].__get__
