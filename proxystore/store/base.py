"""The [`Store`][proxystore.store.base.Store]: objects in, proxies out."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from time import perf_counter_ns
from typing import Any
from typing import Generic
from typing import TypeVar
from typing import cast

from proxystore.connectors.protocols import DeferrableConnector
from proxystore.connectors.protocols import accepts_buffer_lists
from proxystore.proxy import Proxy
from proxystore.proxy import ProxyLocker
from proxystore.serialize import SerializationError
from proxystore.serialize import deserialize as default_deserializer
from proxystore.serialize import serialize as default_serializer
from proxystore.serialize import serialize_to_buffers
from proxystore.store.cache import LRUCache
from proxystore.store.config import ConnectorConfig
from proxystore.store.config import StoreConfig
from proxystore.store.config import connector_kind
from proxystore.store.exceptions import NonProxiableTypeError
from proxystore.store.exceptions import StoreClosedError
from proxystore.store.exceptions import StoreExistsError
from proxystore.store.factory import PollingStoreFactory
from proxystore.store.factory import StoreFactory
from proxystore.store.future import Future
from proxystore.store.lifetimes import Lifetime
from proxystore.store.metrics import StoreMetrics
from proxystore.store.ref import OwnedProxy
from proxystore.store.ref import into_owned
from proxystore.store.registry import _forget_open
from proxystore.store.registry import _track_open
from proxystore.store.registry import _unregister_instance
from proxystore.store.registry import find_open_store
from proxystore.store.registry import register_store
from proxystore.store.types import NON_PROXIABLE_TYPES
from proxystore.store.types import ConnectorKeyT
from proxystore.store.types import ConnectorT
from proxystore.store.types import DeserializerT
from proxystore.store.types import SerializerT
from proxystore.utils.buffers import BytesLike
from proxystore.utils.buffers import is_bytes_like
from proxystore.utils.closing import CloseOnExit
from proxystore.utils.imports import get_object_path
from proxystore.utils.timer import Timer

__all__ = [
    'BytesLike',
    'NonProxiableT',
    'OwnedProxy',
    'PollingStoreFactory',
    'Store',
    'StoreExistsError',
    'StoreFactory',
    'Timer',
    'find_open_store',
    'get_object_path',
    'into_owned',
    'is_bytes_like',
]

T = TypeVar('T')
NonProxiableT = TypeVar('NonProxiableT', bool, None)
"""Types that cannot be proxied (see `Store.proxy()`).

At run time `NotImplemented` and `Ellipsis` are refused too: a proxy
cannot be identical to a singleton.
"""

logger = logging.getLogger(__name__)

_MISSING: Any = object()


def _is_bytes_like(data: Any) -> bool:
    if isinstance(data, (bytes, bytearray, memoryview)):
        return True
    try:
        memoryview(data).release()
    except TypeError:
        return False
    return True


def _nbytes(data: Any) -> int:
    if type(data) is bytes:
        return len(data)
    if type(data) is list:  # the parts from `serialize_to_buffers`
        return sum(memoryview(part).nbytes for part in data)
    return memoryview(data).nbytes


def _check_evict_lifetime(evict: bool, lifetime: Lifetime | None) -> None:
    if evict and lifetime is not None:
        raise ValueError(
            'The evict and lifetime parameters are mutually exclusive. '
            'Only set one of evict or lifetime.',
        )


_SKIP_HINT = (
    'A proxy cannot stand in for a singleton like None, True/False, '
    'NotImplemented or Ellipsis; pass skip_nonproxiable=True to get such '
    'objects back unchanged.'
)


def _non_proxiable_error(objs: Sequence[Any], count: int) -> Exception:
    if count == 1 and len(objs) == 1:
        return NonProxiableTypeError(
            f'Object of {type(objs[0])} is not proxiable. {_SKIP_HINT}',
        )
    return NonProxiableTypeError(
        f'Input sequence contains {count} objects that are not proxiable. '
        f'{_SKIP_HINT}',
    )


class Store(CloseOnExit, Generic[ConnectorT]):
    """Key-value store of objects that hands out proxies to them.

    Objects are serialized and written through the `connector`; proxies
    carry a small factory that fetches and deserializes the object in
    whichever process first uses the proxy.

    Example:
        ```python
        from proxystore.connectors.file import FileConnector
        from proxystore.store import Store

        with Store('example', FileConnector('/tmp/proxystore')) as store:
            proxy = store.proxy([1, 2, 3])
            assert sum(proxy) == 6
        ```

    Note:
        The store is thread-safe: connector operations are guarded by a
        lock local to the store instance, and the cache by a second one, so
        a cache hit never waits for a slow connector operation (e.g., a
        large put in another thread). Serialization and deserialization run
        outside of both locks.

    Warning:
        With `populate_target=True` (the default), the returned proxy holds
        the original object as its target, so a custom serializer and
        deserializer are not applied to it in this process. Use
        `populate_target=False` if the deserialized value differs from the
        object passed in.

    Args:
        name: Name of the store instance.
        connector: Connector instance to use for object storage.
        serializer: Optional callable which serializes an object to a
            bytes-like object. If `None`, the default serializer
            ([`serialize()`][proxystore.serialize.serialize]) is used.
        deserializer: Optional callable which deserializes what the
            serializer produced. If `None`, the default deserializer
            ([`deserialize()`][proxystore.serialize.deserialize]) is used.
        cache_size: Size of the LRU cache of deserialized objects (number of
            objects). `0` disables the cache. The cache is local to the
            Python process.
        metrics: Enable recording operation metrics (see
            [`StoreMetrics`][proxystore.store.metrics.StoreMetrics]).
        populate_target: Default value of `populate_target` of the proxy
            methods of the store.
        register: Register the store instance after initialization (see
            [`register_store()`][proxystore.store.register_store]).

    Raises:
        ValueError: If `cache_size` is less than zero.
        StoreExistsError: If `register=True` and a store with `name` is
            already registered.
    """

    def __init__(
        self,
        name: str,
        connector: ConnectorT,
        *,
        serializer: SerializerT | None = None,
        deserializer: DeserializerT | None = None,
        cache_size: int = 16,
        metrics: bool = False,
        populate_target: bool = True,
        register: bool = False,
    ) -> None:
        if cache_size < 0:
            raise ValueError(
                f'Cache size cannot be negative. Got {cache_size}.',
            )
        self.connector = connector
        self._name = name
        self._custom_serializer = serializer
        self._custom_deserializer = deserializer
        self._serializer: SerializerT = serializer or default_serializer
        self._deserializer: DeserializerT = (
            deserializer or default_deserializer
        )
        self.cache: LRUCache[Any, Any] = LRUCache(cache_size)
        """LRU cache of deserialized objects (local to this process)."""
        self._metrics = StoreMetrics() if metrics else None
        self._populate_target = populate_target
        self._register = register
        self._connector_kind = connector_kind(type(connector))
        # Such connectors write the default serializer's parts back to back,
        # which saves the copy that joining them would make.
        self._buffer_lists = accepts_buffer_lists(connector)
        # Connector calls are serialized by one lock; the cache has its own
        # so that a cache hit never waits for a slow connector call.
        self._connector_lock = threading.Lock()
        self._cache_lock = threading.Lock()
        # Bumped whenever a stored object is removed or replaced, so a get
        # racing with that does not cache what it fetched before.
        self._evictions = 0
        self._shared_config: StoreConfig | None = None
        self._closed = False
        # Set by from_config(): the store was re-created from a proxy's (or
        # a file's) configuration rather than built around live objects.
        self._from_config = False

        if register:
            register_store(self)
        _track_open(self)
        logger.info('Initialized %r', self)

    def __repr__(self) -> str:
        def _kind(custom: Any) -> str:
            return 'default' if custom is None else 'custom'

        return (
            f'{type(self).__name__}(name={self._name}, '
            f'connector={self.connector!r}, '
            f'serializer={_kind(self._custom_serializer)}, '
            f'deserializer={_kind(self._custom_deserializer)}, '
            f'cache_size={self.cache.maxsize}, '
            f'metrics={self._metrics is not None}, '
            f'populate_target={self._populate_target}, '
            f'auto_register={self._register})'
        )

    def _check_open(self, operation: str) -> None:
        if self._closed:
            raise StoreClosedError(
                f'Store(name="{self._name}") is closed: cannot {operation}. '
                'Create a new store (e.g., Store.from_config(config) with '
                'the configuration of the closed store) to use its '
                'connector again.',
            )

    def _matches(self, config: StoreConfig) -> bool:
        """Check if this open store can serve proxies of `config`."""
        if self._closed:
            return False
        kind = config.connector.kind
        if kind != self._connector_kind:
            try:
                connector_type = config.connector.get_connector_type()
            except ValueError:
                return False
            if connector_type is not type(self.connector):
                return False
        return bool(self.connector.config() == config.connector.options)

    def _log_op(self, op: str, start: int) -> None:
        logger.debug(
            'Store(name="%s"): %s in %.3f ms',
            self._name,
            op,
            (perf_counter_ns() - start) / 1e6,
        )

    @property
    def name(self) -> str:
        """Name of the store instance."""
        return self._name

    @property
    def metrics(self) -> StoreMetrics | None:
        """Metrics of the store's operations (`None` if not enabled)."""
        return self._metrics

    @property
    def closed(self) -> bool:
        """Whether the store was closed (see `close()`)."""
        return self._closed

    @property
    def serializer(self) -> SerializerT:
        """Serializer used by the store."""
        return self._serializer

    @property
    def deserializer(self) -> DeserializerT:
        """Deserializer used by the store."""
        return self._deserializer

    def close(self, *args: Any, **kwargs: Any) -> None:
        """Close the connector associated with the store.

        This (1) closes the connector and (2) unregisters the store if it
        is registered. Closing a closed store does nothing; every other
        operation of a closed store raises
        [`StoreClosedError`][proxystore.store.exceptions.StoreClosedError].

        Warning:
            Only call this once the store will no longer be used, e.g.,
            once all proxies have been resolved: closing the connector may
            delete the stored objects (e.g.,
            `FileConnector(clear=True)`).

        Args:
            args: Positional arguments to pass to `Connector.close()`.
            kwargs: Keyword arguments to pass to `Connector.close()`.
        """
        with self._cache_lock:
            if self._closed:
                return
            self._closed = True
            self.cache.clear()
        _forget_open(self)
        try:
            self.connector.close(*args, **kwargs)
        finally:
            _unregister_instance(self)
        logger.info('Closed Store(name="%s")', self._name)

    def config(self) -> StoreConfig:
        """Get the store configuration.

        The configuration rebuilds an equivalent store, possibly in another
        process, with `Store.from_config()`.
        """
        return self._build_config(self.connector.config())

    def _build_config(self, options: dict[str, Any]) -> StoreConfig:
        # Built without re-validation: every field comes from a valid store.
        return StoreConfig.model_construct(
            name=self._name,
            connector=ConnectorConfig.model_construct(
                kind=self._connector_kind,
                options=options,
            ),
            serializer=self._custom_serializer,
            deserializer=self._custom_deserializer,
            cache_size=self.cache.maxsize,
            metrics=self._metrics is not None,
            populate_target=self._populate_target,
            auto_register=self._register,
        )

    def _factory_config(self) -> StoreConfig:
        """Configuration shared by the factories of this store's proxies.

        Rebuilt only when the connector's configuration changes: building a
        model costs more than the rest of creating a proxy. Factories never
        modify it.
        """
        options = self.connector.config()
        config = self._shared_config
        if config is None or config.connector.options != options:
            config = self._shared_config = self._build_config(options)
        return config

    @classmethod
    def from_config(cls, config: StoreConfig) -> Store[Any]:
        """Create a new store instance from a configuration.

        Args:
            config: Configuration returned by `config()` (or read from a
                TOML file with
                [`StoreConfig.from_toml()`][proxystore.store.config.StoreConfig.from_toml]).

        Returns:
            Store instance (registered if `config.auto_register`).
        """
        connector: Any = config.connector.get_connector()
        store = cls(
            config.name,
            connector,
            serializer=config.serializer,
            deserializer=config.deserializer,
            cache_size=config.cache_size,
            metrics=config.metrics,
            populate_target=config.populate_target,
            register=config.auto_register,
        )
        store._from_config = True
        return store

    def _serialize(self, obj: Any, serializer: SerializerT | None) -> Any:
        if serializer is None:
            if self._custom_serializer is None:
                # The default serializer always returns bytes-like output.
                if self._buffer_lists:
                    return serialize_to_buffers(obj)
                return default_serializer(obj)
            serializer = self._custom_serializer
        data = serializer(obj)
        if not _is_bytes_like(data):
            raise TypeError(
                'Serializer must return a bytes-like object. '
                f'{serializer!r} returned an object of type '
                f'{type(data).__name__}.',
            )
        return data

    def put(
        self,
        obj: Any,
        *,
        lifetime: Lifetime | None = None,
        serializer: SerializerT | None = None,
        **kwargs: Any,
    ) -> ConnectorKeyT:
        """Put an object in the store.

        Args:
            obj: Object to put in the store.
            lifetime: Attach the key to this lifetime. The object associated
                with the key will be evicted when the lifetime ends.
            serializer: Optionally override the default serializer for the
                store instance.
            kwargs: Additional keyword arguments to pass to
                `Connector.put()`.

        Returns:
            A key which can be used to retrieve the object.

        Raises:
            TypeError: If the output of `serializer` is not bytes-like.
        """
        self._check_open('put an object')
        metrics = self._metrics
        debug = logger.isEnabledFor(logging.DEBUG)
        timed = metrics is not None or debug
        start = perf_counter_ns() if timed else 0
        data = self._serialize(obj, serializer)
        serialized = perf_counter_ns() if timed else 0
        with self._connector_lock:
            key: ConnectorKeyT = self.connector.put(data, **kwargs)
        if metrics is not None:
            end = perf_counter_ns()
            metrics.add_time(
                'store.put.serialize', key, _ms(serialized - start)
            )
            metrics.add_time('store.put.connector', key, _ms(end - serialized))
            metrics.add_time('store.put', key, _ms(end - start))
            metrics.add_attribute('store.put.object_size', key, _nbytes(data))
        if lifetime is not None:
            lifetime.add_key(key, store=self)
        if debug:
            self._log_op(f'PUT {key}', start)
        return key

    def put_batch(
        self,
        objs: Sequence[Any],
        *,
        lifetime: Lifetime | None = None,
        serializer: SerializerT | None = None,
        **kwargs: Any,
    ) -> list[ConnectorKeyT]:
        """Put multiple objects in the store.

        Every object is serialized before anything is written, so an object
        that cannot be serialized leaves the store untouched.

        Args:
            objs: Sequence of objects to put in the store.
            lifetime: Attach the keys to this lifetime. The objects
                associated with each key will be evicted when the lifetime
                ends.
            serializer: Optionally override the default serializer for the
                store instance.
            kwargs: Additional keyword arguments to pass to
                `Connector.put_batch()`.

        Returns:
            A list of keys which can be used to retrieve the objects.

        Raises:
            TypeError: If the output of `serializer` is not bytes-like.
        """
        self._check_open('put objects')
        metrics = self._metrics
        debug = logger.isEnabledFor(logging.DEBUG)
        timed = metrics is not None or debug
        start = perf_counter_ns() if timed else 0
        datas = [self._serialize(obj, serializer) for obj in objs]
        serialized = perf_counter_ns() if timed else 0
        with self._connector_lock:
            keys = list(self.connector.put_batch(datas, **kwargs))
        if metrics is not None:
            end = perf_counter_ns()
            batch = keys
            metrics.add_time(
                'store.put_batch.serialize',
                batch,
                _ms(serialized - start),
            )
            metrics.add_time(
                'store.put_batch.connector',
                batch,
                _ms(end - serialized),
            )
            metrics.add_time('store.put_batch', batch, _ms(end - start))
            metrics.add_attribute(
                'store.put_batch.object_sizes',
                batch,
                sum(_nbytes(data) for data in datas),
            )
        if lifetime is not None:
            lifetime.add_key(*keys, store=self)
        if debug:
            self._log_op(f'PUT_BATCH ({len(keys)} items) {keys}', start)
        return keys

    def get(
        self,
        key: ConnectorKeyT,
        *,
        deserializer: DeserializerT | None = None,
        default: object | None = None,
    ) -> Any | None:
        """Get the object associated with the key.

        Deserialized objects are kept in the store's LRU cache, so getting
        the same key again returns the same object without fetching it.

        Args:
            key: Key associated with the object to retrieve.
            deserializer: Optionally override the default deserializer for
                the store instance.
            default: An optional value to be returned if an object
                associated with the key does not exist.

        Returns:
            Object or `default` if the object does not exist.

        Raises:
            SerializationError: If the data associated with the key cannot
                be deserialized.
        """
        self._check_open('get an object')
        metrics = self._metrics
        debug = logger.isEnabledFor(logging.DEBUG)
        timed = metrics is not None or debug
        start = perf_counter_ns() if timed else 0
        with self._cache_lock:
            obj = self.cache.get(key, _MISSING)
            evictions = self._evictions
        if obj is not _MISSING:
            if metrics is not None:
                metrics.add_counter('store.get.cache_hits', key, 1)
                metrics.add_time(
                    'store.get',
                    key,
                    _ms(perf_counter_ns() - start),
                )
            if debug:
                self._log_op(f'GET {key} (cached=True)', start)
            return obj
        with self._connector_lock:
            data: Any = self.connector.get(key)
        fetched = perf_counter_ns() if timed else 0
        if metrics is not None:
            metrics.add_counter('store.get.cache_misses', key, 1)
            metrics.add_time('store.get.connector', key, _ms(fetched - start))
        if data is None:
            if metrics is not None:
                metrics.add_time('store.get', key, _ms(fetched - start))
            if debug:
                self._log_op(f'GET {key} (cached=False, missing)', start)
            return default
        deserialize = deserializer or self._deserializer
        try:
            obj = deserialize(data)
        except Exception as e:
            raise SerializationError(
                'Failed to deserialize object (deserializer='
                f'{_callable_path(deserialize)}, key={key}).',
            ) from e
        with self._cache_lock:
            # Do not cache an object evicted or replaced since the fetch.
            if self._evictions == evictions:
                self.cache.set(key, obj)
        if metrics is not None:
            end = perf_counter_ns()
            metrics.add_time('store.get.deserialize', key, _ms(end - fetched))
            metrics.add_time('store.get', key, _ms(end - start))
            metrics.add_attribute('store.get.object_size', key, _nbytes(data))
        if debug:
            self._log_op(f'GET {key} (cached=False)', start)
        return obj

    def exists(self, key: ConnectorKeyT) -> bool:
        """Check if an object associated with the key exists.

        Args:
            key: Key potentially associated with stored object.

        Returns:
            If an object associated with the key exists.
        """
        self._check_open('check if an object exists')
        metrics = self._metrics
        debug = logger.isEnabledFor(logging.DEBUG)
        timed = metrics is not None or debug
        start = perf_counter_ns() if timed else 0
        with self._cache_lock:
            found = self.cache.exists(key)
        if not found:
            with self._connector_lock:
                found = self.connector.exists(key)
            if metrics is not None:
                metrics.add_time(
                    'store.exists.connector',
                    key,
                    _ms(perf_counter_ns() - start),
                )
        if metrics is not None:
            metrics.add_time(
                'store.exists', key, _ms(perf_counter_ns() - start)
            )
        if debug:
            self._log_op(f'EXISTS {key}', start)
        return found

    def evict(self, key: ConnectorKeyT) -> None:
        """Evict the object associated with the key (and its cache entry).

        Evicting a key that does not exist does nothing.

        Args:
            key: Key associated with object to evict.
        """
        self._check_open('evict an object')
        metrics = self._metrics
        debug = logger.isEnabledFor(logging.DEBUG)
        timed = metrics is not None or debug
        start = perf_counter_ns() if timed else 0
        with self._connector_lock:
            self.connector.evict(key)
            connector_done = perf_counter_ns() if timed else 0
            self._uncache(key)
        if metrics is not None:
            metrics.add_time(
                'store.evict.connector', key, _ms(connector_done - start)
            )
            metrics.add_time(
                'store.evict', key, _ms(perf_counter_ns() - start)
            )
        if debug:
            self._log_op(f'EVICT {key}', start)

    def is_cached(self, key: ConnectorKeyT) -> bool:
        """Check if an object associated with the key is cached locally.

        Args:
            key: Key potentially associated with stored object.

        Returns:
            If the object is cached.
        """
        self._check_open('check the cache')
        with self._cache_lock:
            return self.cache.exists(key)

    def _uncache(self, key: ConnectorKeyT) -> None:
        """Drop the local cached copy of an object (package-internal hook).

        The stored object is untouched: the next `get()` fetches it again.
        Used when the object may have been replaced elsewhere (e.g., by the
        holder of a mutable borrow in another process); a `get()` fetching
        concurrently does not cache what it read before this call.

        Args:
            key: Key of the object.
        """
        with self._cache_lock:
            self.cache.evict(key)
            self._evictions += 1

    def _factory(
        self,
        key: ConnectorKeyT,
        config: StoreConfig,
        *,
        evict: bool,
        deserializer: DeserializerT | None,
    ) -> StoreFactory[ConnectorT, Any]:
        factory: StoreFactory[ConnectorT, Any] = StoreFactory(
            key,
            config,
            evict=evict,
            deserializer=deserializer,
        )
        factory._bind(self)
        return factory

    def _proxy_objects(
        self,
        proxy_type: type[Proxy[Any]],
        objs: Sequence[Any],
        *,
        batch: bool,
        evict: bool,
        lifetime: Lifetime | None,
        serializer: SerializerT | None,
        deserializer: DeserializerT | None,
        populate_target: bool | None,
        skip_nonproxiable: bool,
        kwargs: dict[str, Any],
    ) -> list[Any]:
        """The one code path of every method that proxies new objects.

        Arguments are checked before anything is written. The proxiable
        objects are written with one `put_batch()` if `batch`, else with
        `put()` (one object); non-proxiable ones are returned in place.
        """
        self._check_open('proxy an object')
        _check_evict_lifetime(evict, lifetime)
        proxiable = [type(obj) not in NON_PROXIABLE_TYPES for obj in objs]
        if not skip_nonproxiable and not all(proxiable):
            raise _non_proxiable_error(objs, proxiable.count(False))
        metrics = self._metrics
        debug = logger.isEnabledFor(logging.DEBUG)
        start = perf_counter_ns() if metrics is not None or debug else 0
        to_put = [obj for obj, ok in zip(objs, proxiable, strict=True) if ok]
        if batch:
            keys = self.put_batch(
                to_put,
                lifetime=lifetime,
                serializer=serializer,
                **kwargs,
            )
        else:
            keys = [
                self.put(
                    obj, lifetime=lifetime, serializer=serializer, **kwargs
                )
                for obj in to_put
            ]
        if populate_target is None:
            populate_target = self._populate_target
        config = self._factory_config()
        next_key = iter(keys).__next__
        results: list[Any] = []
        for obj, ok in zip(objs, proxiable, strict=True):
            if not ok:
                results.append(obj)
                continue
            factory = self._factory(
                next_key(),
                config,
                evict=evict,
                deserializer=deserializer,
            )
            results.append(
                proxy_type(factory, cache_defaults=True, target=obj)
                if populate_target
                else proxy_type(factory),
            )
        if metrics is not None and keys:
            elapsed = _ms(perf_counter_ns() - start)
            if batch:
                metrics.add_time('store.proxy_batch', keys, elapsed)
            else:
                metrics.add_time('store.proxy', keys[0], elapsed)
        if debug and keys:
            if batch:
                self._log_op(f'PROXY_BATCH ({len(keys)} items) {keys}', start)
            else:
                self._log_op(f'PROXY {keys[0]}', start)
        return results

    def proxy(
        self,
        obj: T | NonProxiableT,
        *,
        evict: bool = False,
        lifetime: Lifetime | None = None,
        serializer: SerializerT | None = None,
        deserializer: DeserializerT | None = None,
        populate_target: bool | None = None,
        skip_nonproxiable: bool = False,
        **kwargs: Any,
    ) -> Proxy[T] | NonProxiableT:
        """Create a proxy that will resolve to an object in the store.

        Args:
            obj: The object to place in store and return a proxy for.
            evict: If the proxy should evict the object once resolved.
                Mutually exclusive with the `lifetime` parameter.
            lifetime: Attach the proxy to this lifetime. The object
                associated with the proxy will be evicted when the lifetime
                ends. Mutually exclusive with the `evict` parameter.
            serializer: Optionally override the default serializer for the
                store instance.
            deserializer: Optionally override the default deserializer for
                the store instance.
            populate_target: Pass `cache_defaults=True` and `target=obj` to
                the [`Proxy`][proxystore.proxy.Proxy] constructor, i.e.,
                return a proxy that (1) is already resolved, (2) can be used
                in `isinstance` checks without resolving, and (3) is
                hashable without resolving if `obj` is hashable. The proxy
                then holds a reference to `obj`. If `None`, defaults to the
                store-wide setting.
            skip_nonproxiable: Return non-proxiable types (e.g., built-in
                constants like `bool` or `None`) rather than raising a
                [`NonProxiableTypeError`][proxystore.store.exceptions.NonProxiableTypeError].
            kwargs: Additional keyword arguments to pass to
                `Connector.put()`.

        Returns:
            A proxy of the object, or `obj` itself if it is non-proxiable
            and `skip_nonproxiable` is `True`.

        Raises:
            NonProxiableTypeError: If `obj` is a non-proxiable type and
                `skip_nonproxiable` is `False`.
            ValueError: If `evict` is `True` and `lifetime` is not `None`.
        """
        (proxy,) = self._proxy_objects(
            Proxy,
            [obj],
            batch=False,
            evict=evict,
            lifetime=lifetime,
            serializer=serializer,
            deserializer=deserializer,
            populate_target=populate_target,
            skip_nonproxiable=skip_nonproxiable,
            kwargs=kwargs,
        )
        return proxy  # type: ignore[no-any-return]

    def proxy_batch(
        self,
        objs: Sequence[T | NonProxiableT],
        *,
        evict: bool = False,
        lifetime: Lifetime | None = None,
        serializer: SerializerT | None = None,
        deserializer: DeserializerT | None = None,
        populate_target: bool | None = None,
        skip_nonproxiable: bool = False,
        **kwargs: Any,
    ) -> list[Proxy[T] | NonProxiableT]:
        """Create proxies that will resolve to objects in the store.

        The objects are written with one `Connector.put_batch()` call.
        Arguments are checked before anything is written.

        Args:
            objs: The objects to place in store and return proxies for.
            evict: If a proxy should evict its object once resolved.
                Mutually exclusive with the `lifetime` parameter.
            lifetime: Attach the proxies to this lifetime. The objects
                associated with each proxy will be evicted when the
                lifetime ends. Mutually exclusive with the `evict`
                parameter.
            serializer: As in [`proxy()`][proxystore.store.base.Store.proxy].
            deserializer: As in
                [`proxy()`][proxystore.store.base.Store.proxy].
            populate_target: As in
                [`proxy()`][proxystore.store.base.Store.proxy], for each
                object.
            skip_nonproxiable: Return non-proxiable objects in place of
                their proxy rather than raising a
                [`NonProxiableTypeError`][proxystore.store.exceptions.NonProxiableTypeError].
            kwargs: Additional keyword arguments to pass to
                `Connector.put_batch()`.

        Returns:
            A list with a proxy of each object (or the object itself if it
            is non-proxiable and `skip_nonproxiable` is `True`).

        Raises:
            NonProxiableTypeError: If an object is a non-proxiable type and
                `skip_nonproxiable` is `False`.
            ValueError: If `evict` is `True` and `lifetime` is not `None`.
        """
        return self._proxy_objects(
            Proxy,
            objs,
            batch=True,
            evict=evict,
            lifetime=lifetime,
            serializer=serializer,
            deserializer=deserializer,
            populate_target=populate_target,
            skip_nonproxiable=skip_nonproxiable,
            kwargs=kwargs,
        )

    def proxy_from_key(
        self,
        key: ConnectorKeyT,
        *,
        evict: bool = False,
        lifetime: Lifetime | None = None,
        deserializer: DeserializerT | None = None,
    ) -> Proxy[T]:
        """Create a proxy that will resolve to an object already in the store.

        Args:
            key: The key associated with an object already in the store.
            evict: If the proxy should evict the object once resolved.
                Mutually exclusive with the `lifetime` parameter.
            lifetime: Attach the proxy to this lifetime. The object
                associated with the proxy will be evicted when the lifetime
                ends. Mutually exclusive with the `evict` parameter.
            deserializer: Optionally override the default deserializer for
                the store instance.

        Returns:
            A proxy of the object.

        Raises:
            ValueError: If `evict` is `True` and `lifetime` is not `None`.
        """
        self._check_open('proxy an object')
        _check_evict_lifetime(evict, lifetime)
        factory = self._factory(
            key,
            self._factory_config(),
            evict=evict,
            deserializer=deserializer,
        )
        if lifetime is not None:
            lifetime.add_key(key, store=self)
        logger.debug('Store(name="%s"): PROXY_FROM_KEY %s', self._name, key)
        return Proxy(factory)

    def locked_proxy(
        self,
        obj: T | NonProxiableT,
        *,
        evict: bool = False,
        lifetime: Lifetime | None = None,
        serializer: SerializerT | None = None,
        deserializer: DeserializerT | None = None,
        populate_target: bool | None = None,
        skip_nonproxiable: bool = True,
        **kwargs: Any,
    ) -> ProxyLocker[T] | NonProxiableT:
        """Proxy an object and return it wrapped in a `ProxyLocker`.

        The parameters are those of
        [`proxy()`][proxystore.store.base.Store.proxy], except that
        `skip_nonproxiable` defaults to `True`.

        Args:
            obj: The object to place in store and return a proxy for.
            evict: If the proxy should evict the object once resolved.
                Mutually exclusive with the `lifetime` parameter.
            lifetime: Attach the proxy to this lifetime. Mutually exclusive
                with the `evict` parameter.
            serializer: As in [`proxy()`][proxystore.store.base.Store.proxy].
            deserializer: As in
                [`proxy()`][proxystore.store.base.Store.proxy].
            populate_target: As in
                [`proxy()`][proxystore.store.base.Store.proxy].
            skip_nonproxiable: Return non-proxiable types (e.g., `None`)
                unwrapped rather than raising a `NonProxiableTypeError`.
            kwargs: Additional keyword arguments to pass to
                `Connector.put()`.

        Returns:
            A proxy wrapped in a [`ProxyLocker`][proxystore.proxy.ProxyLocker],
            or `obj` itself if it is non-proxiable and `skip_nonproxiable`
            is `True`.

        Raises:
            NonProxiableTypeError: If `obj` is a non-proxiable type and
                `skip_nonproxiable` is `False`.
            ValueError: If `evict` is `True` and `lifetime` is not `None`.
        """
        proxy: Any = self.proxy(
            cast(Any, obj),
            evict=evict,
            lifetime=lifetime,
            serializer=serializer,
            deserializer=deserializer,
            populate_target=populate_target,
            skip_nonproxiable=skip_nonproxiable,
            **kwargs,
        )
        if proxy is obj:  # A skipped non-proxiable object.
            return cast(NonProxiableT, obj)
        return ProxyLocker(cast(Proxy[T], proxy))

    def owned_proxy(
        self,
        obj: T | NonProxiableT,
        *,
        serializer: SerializerT | None = None,
        deserializer: DeserializerT | None = None,
        populate_target: bool | None = None,
        skip_nonproxiable: bool = True,
        **kwargs: Any,
    ) -> OwnedProxy[T] | NonProxiableT:
        """Create a proxy that enforces ownership rules over the object.

        An [`OwnedProxy`][proxystore.store.ref.OwnedProxy] evicts the object
        once it goes out of scope. It can also be borrowed (see
        [`proxystore.store.ref`][proxystore.store.ref]).

        Args:
            obj: The object to place in store and return a proxy for.
            serializer: As in [`proxy()`][proxystore.store.base.Store.proxy].
            deserializer: As in
                [`proxy()`][proxystore.store.base.Store.proxy].
            populate_target: As in
                [`proxy()`][proxystore.store.base.Store.proxy].
            skip_nonproxiable: Return non-proxiable types (e.g., `None`)
                rather than raising a `NonProxiableTypeError`.
            kwargs: Additional keyword arguments to pass to
                `Connector.put()`.

        Returns:
            An owned proxy of the object, or `obj` itself if it is
            non-proxiable and `skip_nonproxiable` is `True`.

        Raises:
            NonProxiableTypeError: If `obj` is a non-proxiable type and
                `skip_nonproxiable` is `False`.
        """
        (proxy,) = self._proxy_objects(
            OwnedProxy,
            [obj],
            batch=False,
            evict=False,
            lifetime=None,
            serializer=serializer,
            deserializer=deserializer,
            populate_target=populate_target,
            skip_nonproxiable=skip_nonproxiable,
            kwargs=kwargs,
        )
        return proxy  # type: ignore[no-any-return]

    def future(
        self,
        *,
        evict: bool = False,
        serializer: SerializerT | None = None,
        deserializer: DeserializerT | None = None,
        polling_interval: float = 1,
        polling_backoff_factor: float = 1,
        polling_interval_limit: float | None = None,
        polling_timeout: float | None = None,
    ) -> Future[T]:
        """Create a future to an object that will be set later.

        Any process can set the result
        ([`Future.set_result()`][proxystore.store.future.Future.set_result]);
        any process can wait for it, or hand out a proxy that resolves once
        it is set ([`Future.proxy()`][proxystore.store.future.Future.proxy]).

        Example:
            ```python
            from proxystore.connectors.file import FileConnector
            from proxystore.store import Store

            with Store('example', FileConnector('/tmp/store')) as store:
                future = store.future(polling_interval=0.01)
                proxy = future.proxy()
                future.set_result([1, 2, 3])  # e.g., in another process
                assert proxy == [1, 2, 3]
            ```

        Warning:
            This only works if the connector is a
            [`DeferrableConnector`][proxystore.connectors.protocols.DeferrableConnector].

        Args:
            evict: If a proxy returned by `Future.proxy()` should evict the
                object once resolved.
            serializer: Optionally override the default serializer for the
                store instance.
            deserializer: Optionally override the default deserializer for
                the store instance.
            polling_interval: Initial seconds to sleep between polling the
                store for the object.
            polling_backoff_factor: Multiplicative factor applied to the
                polling interval after each unsuccessful poll.
            polling_interval_limit: Maximum polling interval allowed.
            polling_timeout: Optional maximum number of seconds to poll for.
                If reached, resolving raises
                [`ProxyResolveMissingKeyError`][proxystore.store.exceptions.ProxyResolveMissingKeyError].

        Returns:
            Future to the object.

        Raises:
            NotImplementedError: If the connector is not a
                `DeferrableConnector`.
        """
        self._check_open('create a future')
        if not isinstance(self.connector, DeferrableConnector):
            raise NotImplementedError(
                f'The connector associated with this store is of type '
                f'{type(self.connector).__name__}, which does not implement '
                'the DeferrableConnector protocol (new_key() and set()), '
                'so a Future cannot be created.',
            )
        metrics = self._metrics
        debug = logger.isEnabledFor(logging.DEBUG)
        timed = metrics is not None or debug
        start = perf_counter_ns() if timed else 0
        with self._connector_lock:
            key = self.connector.new_key()
        if metrics is not None:
            metrics.add_time(
                'store.future.connector',
                key,
                _ms(perf_counter_ns() - start),
            )
        factory: PollingStoreFactory[ConnectorT, T] = PollingStoreFactory(
            key,
            self._factory_config(),
            evict=evict,
            deserializer=deserializer,
            polling_interval=polling_interval,
            polling_backoff_factor=polling_backoff_factor,
            polling_interval_limit=polling_interval_limit,
            polling_timeout=polling_timeout,
        )
        factory._bind(self)
        future: Future[T] = Future(factory, serializer=serializer)
        if metrics is not None:
            metrics.add_time(
                'store.future', key, _ms(perf_counter_ns() - start)
            )
        if debug:
            self._log_op(f'FUTURE {key}', start)
        return future

    def _set(
        self,
        key: ConnectorKeyT,
        obj: Any,
        *,
        serializer: SerializerT | None = None,
        **kwargs: Any,
    ) -> None:
        """Store `obj` under an existing key (package-internal hook).

        Used by `Future.set_result()` (a key from
        `DeferrableConnector.new_key()`) and by
        [`update()`][proxystore.store.ref.update] (overwrites the object).
        The connector must be a `DeferrableConnector`; the local cached copy
        is dropped.

        Args:
            key: Key of the object.
            obj: New object.
            serializer: Optionally override the store's serializer.
            kwargs: Additional keyword arguments to pass to
                `DeferrableConnector.set()`.

        Raises:
            TypeError: If the serializer's output is not bytes-like; nothing
                is written then.
        """
        self._check_open('set an object')
        metrics = self._metrics
        debug = logger.isEnabledFor(logging.DEBUG)
        timed = metrics is not None or debug
        start = perf_counter_ns() if timed else 0
        data = self._serialize(obj, serializer)
        serialized = perf_counter_ns() if timed else 0
        with self._connector_lock:
            self.connector.set(key, data, **kwargs)  # type: ignore[attr-defined]
            self._uncache(key)
        if metrics is not None:
            end = perf_counter_ns()
            metrics.add_attribute('store.set.object_size', key, _nbytes(data))
            metrics.add_time(
                'store.set.serialize', key, _ms(serialized - start)
            )
            metrics.add_time('store.set.connector', key, _ms(end - serialized))
            metrics.add_time('store.set', key, _ms(end - start))
        if debug:
            self._log_op(f'SET {key}', start)


def _callable_path(function: Any) -> str:
    module = getattr(function, '__module__', None)
    qualname = getattr(function, '__qualname__', None)
    if module is None or qualname is None:
        return repr(function)
    return f'{module}.{qualname}'


def _ms(ns: int) -> float:
    return ns / 1e6
