"""Thread-safe, exactly-once resolution shared by both implementations.

A proxy core (C or pure Python) calls the resolver only while its target
is missing. The resolver calls the factory once even when many threads
need the target at the same time: the first thread calls it, the others
wait for it and then use the same target. A factory that fails leaves the
proxy unresolved, so the next access calls the factory again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from typing import Protocol

from proxystore.proxy._exceptions import ProxyResolveError

NOT_INITIALIZED = 'Proxy is not initialized: __proxy_factory__ is missing.'
FACTORY_FAILED = (
    'The factory raised an error while resolving the target object; see '
    'the stack trace above (the cause of this error) for what went wrong.'
)
SELF_REFERENCE = 'The factory of a proxy used the proxy it is resolving.'


class Backend(Protocol):
    """The slot accessors a proxy core provides."""

    def has_target(self, proxy: Any, /) -> bool:
        """Whether the target is present."""

    def peek_target(self, proxy: Any, /) -> Any:
        """The target; `AttributeError` while unresolved."""

    def set_target(self, proxy: Any, target: Any, /) -> None:
        """Store the target."""

    def get_factory(self, proxy: Any, /) -> Any:
        """The factory; `AttributeError` if missing."""


class _Pending:
    __slots__ = ('done', 'thread')

    def __init__(self) -> None:
        self.thread = threading.get_ident()
        self.done = threading.Event()


# One lock for all proxies: it is held only to look at or change the
# bookkeeping below, never while a factory runs.
_lock = threading.Lock()
_pending: dict[int, _Pending] = {}


def call_factory(backend: Backend, proxy: Any) -> Any:
    """Call the proxy's factory, wrapping any failure.

    Raises:
        ProxyResolveError: If the proxy has no factory or the factory
            raised an `Exception` (kept in `.cause`).
    """
    try:
        factory = backend.get_factory(proxy)
    except AttributeError as e:
        raise ProxyResolveError(NOT_INITIALIZED, e) from e
    try:
        return factory()
    except Exception as e:
        raise ProxyResolveError(FACTORY_FAILED, e) from e


def make_resolver(backend: Backend) -> Callable[[Any], Any]:
    """Return the resolver for proxies of one core.

    Args:
        backend: Accessors of the core's proxy slots.
    """
    has_target = backend.has_target
    peek_target = backend.peek_target
    set_target = backend.set_target

    def resolve(proxy: Any) -> Any:
        key = id(proxy)
        while True:
            with _lock:
                if has_target(proxy):
                    return peek_target(proxy)
                pending = _pending.get(key)
                if pending is None:
                    pending = _pending[key] = _Pending()
                    break
            if pending.thread == threading.get_ident():
                error = RecursionError(SELF_REFERENCE)
                raise ProxyResolveError(SELF_REFERENCE, error) from error
            pending.done.wait()
        try:
            target = call_factory(backend, proxy)
            with _lock:
                if has_target(proxy):  # assigned while the factory ran
                    target = peek_target(proxy)
                else:
                    set_target(proxy, target)
        finally:
            with _lock:
                del _pending[key]
            pending.done.set()
        return target

    return resolve
