"""Functions that inspect or resolve a proxy without forwarding."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import TypeVar

from proxystore.proxy._cbase import get_target
from proxystore.proxy._cbase import has_target
from proxystore.proxy._proxy import Proxy

T = TypeVar('T')


def _check_proxy(proxy: Any) -> None:
    if not isinstance(proxy, Proxy):
        raise TypeError(f'Expected a Proxy, got {type(proxy).__name__}.')


def extract(proxy: Proxy[T]) -> T:
    """Return the target object of a proxy, resolving it if needed.

    Raises:
        ProxyResolveError: If the factory fails.
        TypeError: If `proxy` is not a proxy.
    """
    _check_proxy(proxy)
    return get_target(proxy)  # type: ignore[no-any-return]


def get_factory(proxy: Proxy[T]) -> Callable[[], T]:
    """Return the factory of a proxy (never resolves).

    Raises:
        TypeError: If `proxy` is not a proxy.
    """
    _check_proxy(proxy)
    return proxy.__proxy_factory__


def is_resolved(proxy: Proxy[T]) -> bool:
    """Return whether a proxy holds its target (never resolves).

    Raises:
        TypeError: If `proxy` is not a proxy.
    """
    _check_proxy(proxy)
    return has_target(proxy)


def resolve(proxy: Proxy[T]) -> None:
    """Resolve a proxy in place (no-op if already resolved).

    Raises:
        ProxyResolveError: If the factory fails.
        TypeError: If `proxy` is not a proxy.
    """
    _check_proxy(proxy)
    get_target(proxy)
