"""Lifetimes: evict a set of objects together when the lifetime ends.

Attach keys or proxies to a lifetime (or pass `lifetime=` to the store's
`put`/`proxy` methods); when the lifetime ends, every associated object is
evicted from its store.
"""

from __future__ import annotations

import atexit
import datetime
import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING
from typing import Any
from typing import Protocol
from typing import runtime_checkable

from proxystore.proxy import Proxy
from proxystore.store.types import ConnectorKeyT
from proxystore.store.utils import get_store_factory
from proxystore.utils.closing import CloseOnExit

if TYPE_CHECKING:
    from proxystore.store.base import Store

logger = logging.getLogger(__name__)


@runtime_checkable
class Lifetime(Protocol):
    """Protocol of lifetimes: when a lifetime ends, its objects are evicted."""

    def add_key(
        self,
        *keys: ConnectorKeyT,
        store: Store[Any] | None = None,
    ) -> None:
        """Associate keys with this lifetime.

        Args:
            keys: Keys of objects to evict when the lifetime ends.
            store: Store the keys belong to.
        """
        ...

    def add_proxy(self, *proxies: Proxy[Any]) -> None:
        """Associate the objects of store proxies with this lifetime.

        Args:
            proxies: Proxies created by a store.
        """
        ...

    def close(self, *, close_stores: bool = False) -> None:
        """End the lifetime now, evicting every associated object.

        Args:
            close_stores: Also close the stores of the objects.
        """
        ...

    def done(self) -> bool:
        """Check if the lifetime has ended."""
        ...


class _TrackedLifetime:
    """Keeps the keys of a lifetime per store and evicts them on close."""

    def __init__(
        self,
        store: Store[Any] | None = None,
        *,
        name: str | None = None,
    ) -> None:
        self.store = store
        self.name = name if name is not None else str(uuid.uuid4())
        self._lock = threading.RLock()
        self._done = False
        # id(store) -> (store, keys); dicts keep keys ordered and unique.
        self._keys: dict[int, tuple[Store[Any], dict[Any, None]]] = {}
        logger.info('Initialized lifetime manager (name=%s)', self.name)

    def __repr__(self) -> str:
        return f'Lifetime(name={self.name}, store={self.store!r})'

    def add_key(
        self,
        *keys: ConnectorKeyT,
        store: Store[Any] | None = None,
    ) -> None:
        """Evict the objects of these keys when the lifetime ends.

        Args:
            keys: Keys of objects in `store`.
            store: Store the keys belong to. Defaults to the lifetime's
                store.

        Raises:
            RuntimeError: If the lifetime has already ended.
            ValueError: If no store is given and the lifetime has none.
        """
        store = store if store is not None else self.store
        if store is None:
            raise ValueError(
                f'The {type(self).__name__} requires the store parameter.',
            )
        with self._lock:
            self._check_open()
            _, tracked = self._keys.setdefault(id(store), (store, {}))
            tracked.update(dict.fromkeys(keys))
        logger.debug(
            'Added keys to lifetime manager (name=%s): %s',
            self.name,
            ', '.join(map(str, keys)),
        )

    def add_proxy(self, *proxies: Proxy[Any]) -> None:
        """Associate the objects of store proxies with this lifetime.

        The proxies are not resolved.

        Args:
            proxies: Proxies created by a store.

        Raises:
            ProxyStoreFactoryError: If a proxy was not created by a store.
            RuntimeError: If the lifetime has already ended.
        """
        self._check_open()
        for proxy in proxies:
            factory = get_store_factory(proxy)
            self.add_key(factory.key, store=factory.get_store())

    def done(self) -> bool:
        """Check if the lifetime has ended."""
        return self._done

    def close(self, *, close_stores: bool = False) -> None:
        """End the lifetime now, evicting every associated object.

        Closing an ended lifetime does nothing.

        Args:
            close_stores: Also close the stores of the objects (and the
                lifetime's own store).
        """
        with self._lock:
            if self._done:
                return
            self._done = True
            tracked, self._keys = self._keys, {}
        stores = [store for store, _ in tracked.values()]
        evicted = 0
        for store, keys in tracked.values():
            if store.closed:  # Its objects went away with its connector.
                continue
            for key in keys:
                store.evict(key)
            evicted += len(keys)
        logger.info(
            'Closed lifetime manager and evicted %d associated objects '
            '(name=%s)',
            evicted,
            self.name,
        )
        if close_stores:
            if self.store is not None and all(
                s is not self.store for s in stores
            ):
                stores.append(self.store)
            for store in stores:
                store.close()

    def _check_open(self) -> None:
        if self._done:
            raise RuntimeError(
                f'Lifetime has ended. Cannot use this method. ({self!r})',
            )


class ContextLifetime(_TrackedLifetime, CloseOnExit):
    """Lifetime that ends when it is closed or its context exits.

    Example:
        ```python
        with ContextLifetime(store) as lifetime:
            key = store.put('value', lifetime=lifetime)
            proxy = store.proxy('value', lifetime=lifetime)
        # Both objects are evicted here.
        ```

    Args:
        store: Default store of the keys added to the lifetime.
        name: Name of the lifetime (a unique one is generated if `None`).
    """

    def __init__(self, store: Store[Any], *, name: str | None = None) -> None:
        super().__init__(store, name=name)


def _expiry_timestamp(
    expiry: float | datetime.timedelta | datetime.datetime,
    *,
    now: float,
) -> float:
    if isinstance(expiry, datetime.datetime):
        return expiry.timestamp()
    if isinstance(expiry, datetime.timedelta):
        return now + expiry.total_seconds()
    if isinstance(expiry, (int, float)):
        return now + expiry
    raise TypeError(
        'expiry must be seconds (int or float), a datetime.timedelta or a '
        f'datetime.datetime, got {type(expiry).__name__}.',
    )


class LeaseLifetime(ContextLifetime):
    """Lifetime that ends at an expiry time unless the lease is extended.

    A daemon timer thread ends the lifetime at expiry;
    [`close()`][proxystore.store.lifetimes.LeaseLifetime.close] ends it
    early (and stops the thread).

    Example:
        ```python
        lifetime = LeaseLifetime(store, expiry=10)
        proxy = store.proxy('value', lifetime=lifetime)
        lifetime.extend(5)  # The lease now ends in ~15 seconds.
        ```

    Args:
        store: Default store of the keys added to the lifetime.
        expiry: When the lease ends: seconds or a `timedelta` from now, or
            an absolute `datetime`.
        name: Name of the lifetime (a unique one is generated if `None`).
    """

    def __init__(
        self,
        store: Store[Any],
        expiry: float | datetime.timedelta | datetime.datetime,
        *,
        name: str | None = None,
    ) -> None:
        super().__init__(store, name=name)
        self._expiry = _expiry_timestamp(expiry, now=time.time())
        self._wakeup = threading.Condition(self._lock)
        self._timer = threading.Thread(
            target=self._run_timer,
            name=f'{self.name}-timer',
            daemon=True,
        )
        self._timer.start()

    @property
    def expiry(self) -> float:
        """Unix timestamp at which the lease ends."""
        return self._expiry

    def extend(
        self,
        expiry: float | datetime.timedelta | datetime.datetime,
    ) -> None:
        """Extend the lease.

        Args:
            expiry: Seconds or a `timedelta` to add to the current expiry,
                or a `datetime` that becomes the new expiry.

        Raises:
            RuntimeError: If the lifetime has already ended.
        """
        with self._wakeup:
            self._check_open()
            self._expiry = _expiry_timestamp(expiry, now=self._expiry)
            self._wakeup.notify_all()

    def _run_timer(self) -> None:
        with self._wakeup:
            while not self._done:
                remaining = self._expiry - time.time()
                if remaining <= 0:
                    break
                self._wakeup.wait(remaining)
        self.close()

    def close(self, *, close_stores: bool = False) -> None:
        """End the lifetime now, evicting every associated object.

        Args:
            close_stores: Also close the stores of the objects.
        """
        super().close(close_stores=close_stores)
        with self._wakeup:
            self._wakeup.notify_all()
        if threading.current_thread() is not self._timer:
            self._timer.join()


class StaticLifetime(_TrackedLifetime):
    """Lifetime of the whole process: ends at interpreter exit.

    At exit its objects are evicted and their stores closed.

    A singleton: every `StaticLifetime()` is the same instance. Keys must
    be added with the store they belong to (or as proxies).

    Example:
        ```python
        proxy = store.proxy('value', lifetime=StaticLifetime())
        ```
    """

    _instance: StaticLifetime | None = None
    _instance_lock = threading.Lock()

    def __new__(cls) -> StaticLifetime:
        """Return the process-wide instance (created on first use)."""
        with cls._instance_lock:
            if cls._instance is None:
                instance = super().__new__(cls)
                _TrackedLifetime.__init__(instance, name='static')
                register_lifetime_atexit(instance, close_stores=True)
                cls._instance = instance
            return cls._instance

    def __init__(self) -> None:
        # The singleton is initialized once, in __new__.
        pass


def register_lifetime_atexit(
    lifetime: Lifetime,
    close_stores: bool = True,
) -> Callable[[], None]:
    """End `lifetime` when the interpreter exits.

    Args:
        lifetime: Lifetime to close at exit.
        close_stores: Also close the stores of the lifetime's objects.

    Returns:
        The callback registered with `atexit` (pass it to
        `atexit.unregister()` to cancel).
    """

    def _close() -> None:
        lifetime.close(close_stores=close_stores)

    atexit.register(_close)
    logger.debug('Registered atexit callback for %r', lifetime)
    return _close
