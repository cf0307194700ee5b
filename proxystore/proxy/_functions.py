"""Functions that inspect or resolve a proxy without forwarding."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from proxystore.proxy._proxy import Proxy
from proxystore.proxy._proxy import core_of

T = TypeVar('T')


def extract(proxy: Proxy[T]) -> T:
    """Return the target object of a proxy, resolving it if needed.

    Raises:
        ProxyResolveError: If the factory fails.
        TypeError: If `proxy` is not a proxy.
    """
    return core_of(proxy).get_target(proxy)  # type: ignore[no-any-return]


def get_factory(proxy: Proxy[T]) -> Callable[[], T]:
    """Return the factory of a proxy (never resolves).

    Raises:
        AttributeError: If the proxy has no factory (not initialised).
        TypeError: If `proxy` is not a proxy.
    """
    return core_of(proxy).get_factory(proxy)  # type: ignore[no-any-return]


def is_resolved(proxy: Proxy[T]) -> bool:
    """Return whether a proxy holds its target (never resolves).

    Raises:
        TypeError: If `proxy` is not a proxy.
    """
    return core_of(proxy).has_target(proxy)  # type: ignore[no-any-return]


def resolve(proxy: Proxy[T]) -> None:
    """Resolve a proxy in place (no-op if already resolved).

    Raises:
        ProxyResolveError: If the factory fails.
        TypeError: If `proxy` is not a proxy.
    """
    core_of(proxy).get_target(proxy)
