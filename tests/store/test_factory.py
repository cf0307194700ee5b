from __future__ import annotations

import logging
import pickle
import re
import threading
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pytest

from proxystore.connectors.file import FileConnector
from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy
from proxystore.proxy import ProxyResolveError
from proxystore.proxy import get_factory
from proxystore.proxy import is_resolved
from proxystore.serialize import deserialize
from proxystore.store import Store
from proxystore.store import get_store
from proxystore.store import store_registration
from proxystore.store.exceptions import ProxyResolveMissingKeyError
from proxystore.store.exceptions import ProxyStoreFactoryError
from proxystore.store.factory import PollingStoreFactory
from proxystore.store.factory import StoreFactory
from proxystore.store.utils import get_key
from proxystore.store.utils import resolve_async
from tests.store._errors import missing_key_error


def resolve_proxy(proxy: Any) -> Any:
    """Run in a spawned process."""
    return list(proxy)


def test_resolve_through_open_store(file_store: Store[Any]) -> None:
    key = file_store.put('value')
    factory: StoreFactory[Any, str] = StoreFactory(key, file_store.config())
    assert factory() == 'value'
    assert factory.resolve() == 'value'
    # The open store of this process that matches the config, which is
    # registered afterwards (a store of that name is registered once a
    # proxy has resolved, as in ProxyStore).
    assert factory.get_store() is file_store
    assert get_store(file_store.name) is file_store


def test_resolve_creates_and_registers_store(
    tmp_path: Any,
    store_name: str,
) -> None:
    store_dir = str(tmp_path / 'store')
    with Store(store_name, FileConnector(store_dir)) as store:
        proxy = store.proxy('value', populate_target=False)
        store.close(clear=False)
    clone = pickle.loads(pickle.dumps(proxy))
    assert clone == 'value'
    created = get_store(store_name)
    assert created is not None
    assert created is not store
    assert get_factory(clone).get_store() is created
    created.close()


def test_resolve_through_registered_store(file_store: Store[Any]) -> None:
    proxy = file_store.proxy('value', populate_target=False)
    other = Store.from_config(file_store.config())
    with store_registration(other):
        clone = pickle.loads(pickle.dumps(proxy))
        assert clone == 'value'
        assert get_factory(clone).get_store() is other
        assert other.is_cached(get_key(proxy))
        # The proxy made here keeps resolving through its own store.
        assert get_factory(proxy).get_store() is file_store


def test_missing_key(file_store: Store[Any]) -> None:
    kept = file_store.proxy('kept', populate_target=False)
    proxy = file_store.proxy('value', populate_target=False)
    key = get_key(proxy)
    file_store.evict(key)
    with pytest.raises(ProxyResolveError) as info:
        str(proxy)
    error = missing_key_error(info.value)
    assert error.key == key
    assert error.store_type is Store
    assert error.store_name == file_store.name
    message = str(error)
    assert message.startswith(
        f'Cannot resolve target object with key={key!r} from '
        f"Store(name='{file_store.name}') because there is no object "
        'associated with the key.',
    )
    assert repr(key) in message
    assert file_store.name in message
    assert 'evicted' in message
    assert kept == 'kept'
    restored = pickle.loads(pickle.dumps(error))
    assert str(restored) == message


def test_missing_key_in_spawned_process(
    file_store: Store[Any],
    spawn_pool: ProcessPoolExecutor,
) -> None:
    proxy = file_store.proxy([1], populate_target=False)
    file_store.evict(get_key(proxy))
    with pytest.raises(ProxyResolveError) as info:
        spawn_pool.submit(resolve_proxy, proxy).result()
    error = missing_key_error(info.value)
    assert error.store_name == file_store.name
    assert 'evicted' in str(error)


def test_evicted_by_another_proxy(file_store: Store[Any]) -> None:
    proxy = file_store.proxy('value', evict=True, populate_target=False)
    other = file_store.proxy_from_key(get_key(proxy))
    assert proxy == 'value'
    with pytest.raises(ProxyResolveError) as info:
        other.upper()
    assert missing_key_error(info.value).key == get_key(proxy)


def test_evict_factory(file_store: Store[Any]) -> None:
    key = file_store.put('value')
    factory: StoreFactory[Any, str] = StoreFactory(
        key,
        file_store.config(),
        evict=True,
    )
    assert factory() == 'value'
    assert not file_store.exists(key)


def test_resolve_async(file_store: Store[Any]) -> None:
    key = file_store.put(np.arange(10))
    factory: StoreFactory[Any, Any] = StoreFactory(key, file_store.config())
    factory.resolve_async()
    factory.resolve_async()  # Already fetching: no second fetch.
    assert np.array_equal(factory.resolve(), np.arange(10))
    # The background result was consumed: the next resolve fetches again.
    assert np.array_equal(factory.resolve(), np.arange(10))


def test_resolve_async_error_is_raised_on_resolve(
    file_store: Store[Any],
) -> None:
    key = file_store.put('value')
    file_store.evict(key)
    factory: StoreFactory[Any, Any] = StoreFactory(key, file_store.config())
    factory.resolve_async()
    with pytest.raises(ProxyResolveMissingKeyError):
        factory.resolve()


def test_utils_resolve_async(file_store: Store[Any]) -> None:
    proxy = file_store.proxy([1, 2], populate_target=False)
    resolve_async(proxy)
    assert proxy == [1, 2]
    resolve_async(proxy)  # Already resolved: nothing to do.
    with pytest.raises(ProxyStoreFactoryError):
        resolve_async(Proxy(SimpleFactory([1])))


def test_factory_metrics(store_name: str, tmp_path: Any) -> None:
    connector = FileConnector(str(tmp_path / 'store'))
    with Store(store_name, connector, metrics=True) as store:
        proxy = store.proxy('value', populate_target=False)
        assert proxy == 'value'
        assert store.metrics is not None
        metrics = store.metrics.get_metrics(proxy)
        assert metrics is not None
        assert metrics.times['factory.resolve'].count == 1


@pytest.mark.parametrize('populate_target', [False, True])
def test_pickled_file_proxy_is_small(
    file_store: Store[Any],
    populate_target: bool,
) -> None:
    proxy = file_store.proxy(
        np.zeros(10_000),
        populate_target=populate_target,
    )
    # The store directory (a long pytest path) and, when populated, the
    # cached class and hash error travel along; the array does not.
    size = len(pickle.dumps(proxy))
    assert size <= 400, size
    clone = pickle.loads(pickle.dumps(proxy))
    assert not is_resolved(clone)
    assert np.array_equal(clone, np.zeros(10_000))


def test_factory_pickle_keeps_options(file_store: Store[Any]) -> None:
    key = file_store.put('value')
    factory: StoreFactory[Any, Any] = StoreFactory(
        key,
        file_store.config(),
        evict=True,
        deserializer=pickle.loads,
    )
    clone = pickle.loads(pickle.dumps(factory))
    assert type(clone) is StoreFactory
    assert clone.key == key
    assert clone.evict
    assert clone.deserializer is pickle.loads
    assert clone.store_config == file_store.config()
    assert 'StoreFactory' in repr(clone)


def unset_key_factory(
    store: Store[Any],
    **polling: Any,
) -> PollingStoreFactory[Any, Any]:
    """A fast-polling factory of a key reserved in `store` but not set."""
    return PollingStoreFactory(
        store.connector.new_key(),
        store.config(),
        polling_interval=0.001,
        **polling,
    )


def test_polling_factory_waits_for_key(file_store: Store[Any]) -> None:
    factory = unset_key_factory(
        file_store,
        polling_backoff_factor=2,
        polling_interval_limit=0.01,
        polling_timeout=30,
    )
    setter = threading.Timer(
        0.05,
        file_store._set,
        args=(factory.key, 'late'),
    )
    setter.start()
    try:
        assert factory.resolve() == 'late'
    finally:
        setter.join()


def test_polling_factory_timeout(file_store: Store[Any]) -> None:
    factory = unset_key_factory(file_store, polling_timeout=0.01)
    with pytest.raises(
        ProxyResolveMissingKeyError,
        match=re.escape(repr(factory.key)),
    ) as info:
        factory.resolve()
    assert 'polling timeout' in str(info.value)
    assert info.value.key == factory.key


@pytest.mark.parametrize(
    ('polling', 'polls'),
    [
        # Waited 0, 1, 2, 3, 4 ms: the fifth poll is past the timeout.
        ({'polling_timeout': 0.0035}, 5),
        # Intervals 1, 2, 4, 4 ms (capped): waited 0, 1, 3, 7, 11 ms.
        (
            {
                'polling_timeout': 0.01,
                'polling_backoff_factor': 2,
                'polling_interval_limit': 0.004,
            },
            5,
        ),
    ],
)
def test_polling_factory_sleeps_full_intervals(
    tmp_path: Any,
    store_name: str,
    polling: dict[str, Any],
    polls: int,
) -> None:
    connector = FileConnector(str(tmp_path / 'store'))
    with Store(store_name, connector, metrics=True) as store:
        factory = unset_key_factory(store, **polling)
        factory._bind(store)
        with pytest.raises(ProxyResolveMissingKeyError):
            factory.resolve()
        assert store.metrics is not None
        metrics = store.metrics.get_metrics(factory.key)
        assert metrics is not None
        assert metrics.counters['store.get.cache_misses'] == polls


def test_polling_factory_records_polling_resolve(
    tmp_path: Any,
    store_name: str,
) -> None:
    connector = FileConnector(str(tmp_path / 'store'))
    with Store(store_name, connector, metrics=True) as store:
        future = store.future(polling_interval=0.001)
        future.set_result('done')
        assert future.result() == 'done'
        assert store.metrics is not None
        metrics = store.metrics.get_metrics(future.factory.key)
        assert metrics is not None
        assert metrics.times['factory.polling_resolve'].count == 1
        assert metrics.times['factory.resolve'].count == 1


def test_polling_factory_bad_parameters(file_store: Store[Any]) -> None:
    config = file_store.config()
    with pytest.raises(ValueError, match='positive'):
        PollingStoreFactory('key', config, polling_interval=0)
    with pytest.raises(ValueError, match='positive'):
        PollingStoreFactory('key', config, polling_backoff_factor=-1)
    with pytest.raises(TypeError, match='evcit'):
        PollingStoreFactory('key', config, evcit=True)


def test_polling_factory_pickle(file_store: Store[Any]) -> None:
    factory: PollingStoreFactory[Any, Any] = PollingStoreFactory(
        'key',
        file_store.config(),
        polling_interval=0.5,
        polling_backoff_factor=1.5,
        polling_interval_limit=4,
        polling_timeout=9,
        evict=True,
        deserializer=deserialize,
    )
    clone = pickle.loads(pickle.dumps(factory))
    assert type(clone) is PollingStoreFactory
    assert clone.evict
    assert clone.deserializer is deserialize
    assert clone.polling_interval == 0.5
    assert clone.polling_backoff_factor == 1.5
    assert clone.polling_interval_limit == 4
    assert clone.polling_timeout == 9


def test_resolve_async_logs_and_uses_the_shared_pool(
    file_store: Store[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    key = file_store.put('value')
    names: list[str] = []

    def record_thread(data: Any) -> Any:
        names.append(threading.current_thread().name)
        return deserialize(data)

    factory: StoreFactory[Any, Any] = StoreFactory(
        key,
        file_store.config(),
        deserializer=record_thread,
    )
    with caplog.at_level(logging.DEBUG, logger='proxystore.store.factory'):
        factory.resolve_async()
        assert factory.resolve() == 'value'
    assert f'Starting asynchronous resolve of {key}' in caplog.messages
    assert names[0].startswith('proxystore-resolve')
    # Pickling drops the pending fetch.
    plain: StoreFactory[Any, Any] = StoreFactory(key, file_store.config())
    plain.resolve_async()
    clone = pickle.loads(pickle.dumps(plain))
    assert clone._obj_future is None
    assert plain.resolve() == 'value'
