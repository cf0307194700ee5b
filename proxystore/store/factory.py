"""Factories that resolve proxies by fetching objects from a store."""

from __future__ import annotations

import concurrent.futures
import logging
import threading
import time
from time import perf_counter_ns
from typing import TYPE_CHECKING
from typing import Any
from typing import Generic
from typing import TypeVar
from typing import cast

from typing_extensions import Self

from proxystore.factory import Factory
from proxystore.store.config import StoreConfig
from proxystore.store.config import _rebuild_store_config
from proxystore.store.exceptions import ProxyResolveMissingKeyError
from proxystore.store.registry import find_open_store
from proxystore.store.registry import get_or_create_store
from proxystore.store.registry import get_store as registered_store
from proxystore.store.registry import register_if_absent
from proxystore.store.types import ConnectorKeyT
from proxystore.store.types import ConnectorT
from proxystore.store.types import DeserializerT

if TYPE_CHECKING:
    from proxystore.store.base import Store

T = TypeVar('T')

logger = logging.getLogger(__name__)

_MISSING: Any = object()

# Shared by every factory's resolve_async(); threads are created lazily.
_executor: concurrent.futures.ThreadPoolExecutor | None = None
_executor_lock = threading.Lock()


def _resolve_executor() -> concurrent.futures.ThreadPoolExecutor:
    global _executor
    if _executor is None:
        with _executor_lock:
            if _executor is None:
                _executor = concurrent.futures.ThreadPoolExecutor(
                    thread_name_prefix='proxystore-resolve',
                )
    return _executor


def _rebuild_factory(
    key: Any,
    name: str,
    kind: str,
    connector_options: dict[str, Any],
    config_extras: dict[str, Any],
    options: dict[str, Any],
    cls: type[StoreFactory[Any, Any]] | None = None,
) -> StoreFactory[Any, Any]:
    """Inverse of `StoreFactory.__reduce__()`."""
    config = _rebuild_store_config(
        name,
        kind,
        connector_options,
        config_extras,
    )
    return (cls or StoreFactory)(key, config, **options)


class StoreFactory(Factory[T], Generic[ConnectorT, T]):
    """Factory that resolves an object from a store.

    The factory carries the `store_config` so that a process which has no
    store of that name (e.g., a remote worker) can create and register one
    the first time a proxy resolves there. In the process that created the
    proxy, it resolves through the very store that created it.

    Pickles small: only the key, the store configuration (fields that
    differ from their defaults) and non-default options are kept.

    Args:
        key: Key corresponding to object in store.
        store_config: Store configuration used to reinitialize the store if
            needed.
        evict: If `True`, evict the object from the store once
            [`resolve()`][proxystore.store.factory.StoreFactory.resolve] is
            called.
        deserializer: Optional callable used to deserialize the byte string.
            If `None`, the store's deserializer is used.
    """

    def __init__(
        self,
        key: ConnectorKeyT,
        store_config: StoreConfig,
        *,
        evict: bool = False,
        deserializer: DeserializerT | None = None,
    ) -> None:
        self.key = key
        self.store_config = store_config
        self.evict = evict
        self.deserializer = deserializer
        self._store: Store[ConnectorT] | None = None
        self._obj_future: concurrent.futures.Future[T] | None = None
        self._pending_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(key={self.key!r}, '
            f'store={self.store_config.name!r}, evict={self.evict})'
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Every byte counts: proxies pickle as their factory. The config is
        # inlined and the class is only named if it is a subclass.
        state = (
            self.key,
            *self.store_config._compact_state(),
            self._options(),
        )
        cls = type(self)
        return (
            _rebuild_factory,
            state if cls is StoreFactory else (*state, cls),
        )

    def _options(self) -> dict[str, Any]:
        """Keyword arguments of the constructor that differ from defaults."""
        options: dict[str, Any] = {}
        if self.evict:
            options['evict'] = True
        if self.deserializer is not None:
            options['deserializer'] = self.deserializer
        return options

    def _bind(self, store: Store[ConnectorT]) -> None:
        """Resolve through `store` in this process (package-internal hook).

        Called by the store that creates the factory, so that its proxies
        resolve through it even if it is not registered.
        """
        self._store = store

    def _copy(self, *, evict: bool) -> Self:
        """Return a copy with another `evict` (package-internal hook).

        The copy has the same type, key and options (a polling factory
        stays polling) and resolves through the same store.
        """
        options = {**self._options(), 'evict': evict}
        copy = type(self)(self.key, self.store_config, **options)
        copy._bind(self.get_store())
        return copy

    def get_store(self) -> Store[ConnectorT]:
        """Get the store this factory resolves through.

        In order of preference: the store that created the factory (if it
        is open), the registered store of the configuration's name, an
        open store of this process with the same name and connector
        configuration, or a new store created from the configuration.
        Afterwards a store of that name is registered in this process (the
        store used, unless another one of the name already was).
        """
        store = self._store
        if store is None or store.closed:
            config = self.store_config
            store = registered_store(config.name) or find_open_store(config)
            if store is None:
                return get_or_create_store(config, register=True)
        register_if_absent(store)
        return store

    def __call__(self) -> T:
        """Resolve the object (see `resolve()`).

        With metrics enabled, records `factory.call` (in nanoseconds).
        """
        start = perf_counter_ns()
        obj = self.resolve()
        metrics = self.get_store().metrics
        if metrics is not None:
            elapsed = perf_counter_ns() - start
            metrics.add_time('factory.call', self.key, elapsed)
        return obj

    def resolve(self) -> T:
        """Get the object associated with the key from the store.

        If `resolve_async()` was called, waits for that background fetch
        instead. With metrics enabled, records `factory.resolve` (in
        nanoseconds).

        Raises:
            ProxyResolveMissingKeyError: If the key associated with this
                factory does not exist in the store.
        """
        with self._pending_lock:
            pending, self._obj_future = self._obj_future, None
        if pending is not None:
            return pending.result()
        return self._resolve()

    def resolve_async(self) -> None:
        """Start getting the object in a background thread.

        The next [`resolve()`][proxystore.store.factory.StoreFactory.resolve]
        (e.g., the first use of the proxy) waits for this fetch rather than
        starting a new one. Calling this again before that does nothing.
        """
        with self._pending_lock:
            if self._obj_future is not None:
                return
            logger.debug('Starting asynchronous resolve of %s', self.key)
            self._obj_future = _resolve_executor().submit(self._resolve)

    def _resolve(self) -> T:
        store = self.get_store()
        metrics = store.metrics
        start = perf_counter_ns()
        obj = self._fetch(store)
        if self.evict:
            store.evict(self.key)
        elapsed = perf_counter_ns() - start
        if metrics is not None:
            metrics.add_time('factory.resolve', self.key, elapsed)
        logger.debug(
            'Resolved %s from Store(name="%s") in %.3f ms',
            self.key,
            store.name,
            elapsed / 1e6,
        )
        return obj

    def _missing(
        self,
        store: Store[ConnectorT],
        reason: str | None = None,
    ) -> ProxyResolveMissingKeyError:
        connector_type = type(store.connector)
        if (
            reason is None
            and store._from_config
            and getattr(connector_type, 'process_local', False)
        ):
            reason = (
                f'{connector_type.__name__} is process-local: its objects '
                'live in the memory of the process that put them, so a '
                'proxy of it cannot be resolved in another process (this '
                'store was re-created here from the configuration the '
                'proxy carries). Use a connector that other processes can '
                'reach (e.g., FileConnector or RedisConnector). If the '
                'proxy was created in this process, the object was evicted.'
            )
        return ProxyResolveMissingKeyError(
            self.key,
            type(store),
            store.name,
            reason,
        )

    def _fetch(self, store: Store[ConnectorT]) -> T:
        obj = store.get(
            self.key, deserializer=self.deserializer, default=_MISSING
        )
        if obj is _MISSING:
            raise self._missing(store)
        return cast(T, obj)


class PollingStoreFactory(StoreFactory[ConnectorT, T]):
    """Factory that waits for its object to appear in the store.

    Used by [`Future`][proxystore.store.future.Future]: the key exists
    before the object does.

    Args:
        key: Key corresponding to object in store.
        store_config: Store configuration used to reinitialize the store if
            needed.
        polling_interval: Initial seconds to sleep between polling the store
            for the object.
        polling_backoff_factor: Multiplicative factor applied to the polling
            interval after each unsuccessful poll.
        polling_interval_limit: Maximum polling interval allowed, which
            stops the backoff factor from growing the interval without
            bound.
        polling_timeout: Optional maximum number of seconds to poll for.
        options: `evict` and `deserializer`, as for
            [`StoreFactory`][proxystore.store.factory.StoreFactory].

    Raises:
        ValueError: If a polling parameter is not positive.
    """

    def __init__(
        self,
        key: ConnectorKeyT,
        store_config: StoreConfig,
        *,
        polling_interval: float = 1,
        polling_backoff_factor: float = 1,
        polling_interval_limit: float | None = None,
        polling_timeout: float | None = None,
        **options: Any,
    ) -> None:
        if polling_interval <= 0 or polling_backoff_factor <= 0:
            raise ValueError(
                'polling_interval and polling_backoff_factor must be '
                'positive.',
            )
        super().__init__(key, store_config, **options)
        self.polling_interval = polling_interval
        self.polling_backoff_factor = polling_backoff_factor
        self.polling_interval_limit = polling_interval_limit
        self.polling_timeout = polling_timeout

    def _options(self) -> dict[str, Any]:
        options = super()._options()
        options.update(
            polling_interval=self.polling_interval,
            polling_backoff_factor=self.polling_backoff_factor,
            polling_interval_limit=self.polling_interval_limit,
            polling_timeout=self.polling_timeout,
        )
        return options

    def _fetch(self, store: Store[ConnectorT]) -> T:
        start = perf_counter_ns()
        timeout = self.polling_timeout
        interval = self.polling_interval
        waited = 0.0
        while True:
            obj = store.get(
                self.key,
                deserializer=self.deserializer,
                default=_MISSING,
            )
            if obj is not _MISSING:
                break
            if timeout is not None and waited >= timeout:
                raise self._missing(
                    store,
                    f'No object was set within the polling timeout of '
                    f'{timeout} seconds.',
                )
            time.sleep(interval)
            waited += interval
            interval *= self.polling_backoff_factor
            if self.polling_interval_limit is not None:
                interval = min(interval, self.polling_interval_limit)
        metrics = store.metrics
        if metrics is not None:
            metrics.add_time(
                'factory.polling_resolve',
                self.key,
                perf_counter_ns() - start,
            )
        return cast(T, obj)
