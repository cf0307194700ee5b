"""Thread-safe, exactly-once resolution of a proxy's factory."""

from __future__ import annotations

import threading
import time
import weakref
from typing import Any

from proxystore.proxy._cbase import clear_target
from proxystore.proxy._cbase import get_target
from proxystore.proxy._cbase import has_target
from proxystore.proxy._exceptions import ProxyResolveError

# How long a thread that lost the resolution race waits for the winner's
# C code to store the target before giving up and calling the factory.
_HANDOFF_TIMEOUT_S = 5.0
_NOTHING: Any = object()


def call_factory(factory: Any) -> Any:
    """Call `factory()`, wrapping failures in `ProxyResolveError`."""
    try:
        return factory()
    except ProxyResolveError:
        raise
    except Exception as e:
        raise ProxyResolveError(
            f'Failed to resolve the proxy target: {type(factory).__name__} '
            f'raised {type(e).__name__}: {e}',
        ) from e


def _take_stored_target(proxy: Any) -> Any:
    """Wait until the proxy's target slot is filled, then take it out.

    The C base stores whatever the factory slot returns into the target
    slot *without* releasing a value stored there meanwhile. A thread that
    lost the race therefore empties the slot before returning the same
    target, so that no reference to the target leaks.
    """
    deadline = time.monotonic() + _HANDOFF_TIMEOUT_S
    while not has_target(proxy):
        if time.monotonic() > deadline:
            return _NOTHING
        time.sleep(0)
    target = get_target(proxy)
    clear_target(proxy)
    return target


class Resolver:
    """The callable stored in the C factory slot of a proxy.

    The C base calls it whenever an operation needs the target and the
    target slot is empty. Concurrent callers are serialized so that the
    user's factory runs once; later callers get the same target. The lock
    is reentrant so that a factory that (wrongly) uses its own proxy fails
    with a `RecursionError` (wrapped) instead of deadlocking.

    Args:
        factory: The user's factory.
        proxy: The proxy this resolver belongs to (held weakly).
    """

    __slots__ = ('factory', 'handed_out', 'lock', '_proxy_ref')

    def __init__(self, factory: Any, proxy: Any) -> None:
        self.factory = factory
        self.lock = threading.RLock()
        # True from the moment a target was returned to the C base until
        # the target is explicitly dropped from the proxy.
        self.handed_out = False
        self._proxy_ref = weakref.ref(proxy)

    def __call__(self) -> Any:
        with self.lock:
            if self.handed_out:
                proxy = self._proxy_ref()
                if proxy is not None:
                    target = _take_stored_target(proxy)
                    if target is not _NOTHING:
                        return target
            target = call_factory(self.factory)
            self.handed_out = True
            return target
