from __future__ import annotations

import pathlib
import pickle
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.proxy import Proxy
from proxystore.proxy import ProxyLocker
from proxystore.proxy import get_factory
from proxystore.proxy import is_resolved
from proxystore.serialize import SerializationError
from proxystore.serialize import deserialize
from proxystore.serialize import serialize
from proxystore.store import Store
from proxystore.store import get_store
from proxystore.store.base import find_open_store
from proxystore.store.cache import LRUCache
from proxystore.store.config import StoreConfig
from proxystore.store.exceptions import NonProxiableTypeError
from proxystore.store.factory import StoreFactory
from proxystore.store.lifetimes import ContextLifetime
from proxystore.store.utils import get_key
from tests.store._connectors import DictConnector
from tests.store._connectors import GatedConnector
from tests.store._threads import run_in_threads

NON_PROXIABLE = [None, True, False, NotImplemented, Ellipsis]


def json_like_serializer(obj: list[int]) -> bytes:
    return ','.join(map(str, obj)).encode()


def json_like_deserializer(data: bytes) -> list[int]:
    return [int(x) for x in bytes(data).decode().split(',')]


def resolve_in_worker(proxy: Any) -> Any:
    """Run in a spawned process: use the proxy like the object."""
    assert not is_resolved(proxy)
    return proxy.copy() if hasattr(proxy, 'copy') else proxy


def sum_in_worker(proxy: Any) -> float:
    return float(np.sum(proxy))


def inspect_populated_proxy(proxy: Any) -> tuple[bool, int, bool]:
    """Run in a spawned process: isinstance and hash must not resolve."""
    is_tuple = isinstance(proxy, tuple)
    proxy_hash = hash(proxy)
    return is_tuple, proxy_hash, is_resolved(proxy)


@pytest.fixture(params=['local', 'file'])
def store(
    request: pytest.FixtureRequest,
    tmp_path: pathlib.Path,
    store_name: str,
) -> Iterator[Store[Any]]:
    connector: Any = (
        LocalConnector()
        if request.param == 'local'
        else FileConnector(str(tmp_path / 'store'))
    )
    with Store(store_name, connector) as store:
        yield store


def stored_count(store: Store[Any]) -> int:
    connector = store.connector
    if isinstance(connector, LocalConnector):
        return len(connector._store)
    return len(list(pathlib.Path(connector.store_dir).iterdir()))


def test_properties(local_store: Store[Any]) -> None:
    assert local_store.name.startswith('store-')
    assert local_store.metrics is None
    assert local_store.serializer is serialize
    assert local_store.deserializer is deserialize
    assert local_store.name in repr(local_store)


def test_put_get_exists_evict(store: Store[Any]) -> None:
    key = store.put({'a': [1, 2]})
    assert store.exists(key)
    assert store.get(key) == {'a': [1, 2]}
    store.evict(key)
    assert not store.exists(key)
    assert store.get(key) is None
    assert store.get(key, default='missing') == 'missing'
    store.evict(key)  # Missing key: no-op.


def test_put_batch(store: Store[Any]) -> None:
    objs = ['a', b'b', 3, np.arange(4)]
    keys = store.put_batch(objs)
    assert len(keys) == len(objs)
    assert store.get(keys[0]) == 'a'
    assert store.get(keys[1]) == b'b'
    assert store.get(keys[2]) == 3
    assert np.array_equal(store.get(keys[3]), np.arange(4))
    assert store.put_batch([]) == []


def test_stored_none_differs_from_missing(store: Store[Any]) -> None:
    key = store.put(None)
    assert store.get(key, default='missing') is None


def test_cache(store: Store[Any]) -> None:
    key = store.put([1, 2, 3])
    assert not store.is_cached(key)
    first = store.get(key)
    assert store.is_cached(key)
    assert store.get(key) is first
    store.evict(key)
    assert not store.is_cached(key)


def test_cache_is_bounded(store_name: str) -> None:
    with Store(store_name, LocalConnector(), cache_size=2) as store:
        keys = store.put_batch(['a', 'b', 'c'])
        for key in keys:
            store.get(key)
        assert [store.is_cached(key) for key in keys] == [False, True, True]


def test_cache_disabled(store_name: str) -> None:
    with Store(store_name, LocalConnector(), cache_size=0) as store:
        key = store.put([1])
        assert store.get(key) == [1]
        assert not store.is_cached(key)


def test_negative_cache_size(store_name: str) -> None:
    with pytest.raises(ValueError, match='Cache size cannot be negative'):
        Store(store_name, LocalConnector(), cache_size=-1)


def test_custom_serializers(store_name: str) -> None:
    with Store(
        store_name,
        LocalConnector(),
        serializer=json_like_serializer,
        deserializer=json_like_deserializer,
    ) as store:
        key = store.put([1, 2, 3])
        assert store.connector.get(key) == b'1,2,3'
        assert store.get(key) == [1, 2, 3]
        proxy = store.proxy([4, 5], populate_target=False)
        assert proxy == [4, 5]


def test_per_call_serializers(store: Store[Any]) -> None:
    key = store.put([1, 2], serializer=json_like_serializer)
    assert store.get(key, deserializer=json_like_deserializer) == [1, 2]
    proxy = store.proxy(
        [7, 8],
        serializer=json_like_serializer,
        deserializer=json_like_deserializer,
        populate_target=False,
    )
    assert proxy == [7, 8]


def test_populate_target_skips_custom_serializers(store: Store[Any]) -> None:
    # The documented caveat: the proxy's target is the object passed in.
    data = json_like_serializer([1, 2])
    proxy = store.proxy(
        data,
        serializer=lambda b: b,
        deserializer=json_like_deserializer,
    )
    assert proxy == data
    unpopulated = store.proxy(
        data,
        serializer=lambda b: b,
        deserializer=json_like_deserializer,
        populate_target=False,
    )
    assert unpopulated == [1, 2]


@pytest.mark.parametrize('output', ['text', 42, [b'a'], None])
def test_serializer_must_return_bytes(store: Store[Any], output: Any) -> None:
    kept = store.put('kept')
    before = stored_count(store)
    with pytest.raises(TypeError, match='bytes'):
        store.put('x', serializer=lambda obj: output)
    with pytest.raises(TypeError, match='bytes'):
        store.put_batch(['x', 'y'], serializer=lambda obj: output)
    with pytest.raises(TypeError, match='bytes'):
        store.proxy('x', serializer=lambda obj: output)
    with pytest.raises(TypeError, match='bytes'):
        store.proxy_batch(['x', 'y'], serializer=lambda obj: output)
    with pytest.raises(TypeError, match='bytes'):
        store.owned_proxy('x', serializer=lambda obj: output)
    assert stored_count(store) == before
    assert store.get(kept) == 'kept'


def test_serializer_may_return_any_bytes_like(store: Store[Any]) -> None:
    for convert in (bytearray, memoryview, lambda d: np.frombuffer(d, 'u1')):
        key = store.put(
            'value',
            serializer=lambda obj, c=convert: c(serialize(obj)),
        )
        assert store.get(key) == 'value'


@pytest.mark.parametrize(
    'garbage',
    [
        b'',
        b'\x00',
        b'\xff\xfe random garbage \x00\x01',
        serialize({'a': list(range(100))})[:20],
        serialize(np.arange(100))[:-7],
    ],
)
def test_garbage_bytes_raise_serialization_error(
    store: Store[Any],
    garbage: bytes,
) -> None:
    kept = store.put('kept')
    key = store.connector.put(garbage)
    with pytest.raises(SerializationError):
        store.get(key)
    assert not store.is_cached(key)
    assert store.get(kept) == 'kept'


def test_failing_custom_deserializer(store: Store[Any]) -> None:
    key = store.put('value')

    def bad(data: bytes) -> Any:
        raise ValueError('broken')

    with pytest.raises(
        SerializationError,
        match='Failed to deserialize object',
    ) as info:
        store.get(key, deserializer=bad)
    assert 'test_failing_custom_deserializer.<locals>.bad' in str(info.value)
    assert str(key) in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)
    assert str(info.value.__cause__) == 'broken'
    assert store.get(key) == 'value'


def test_proxy(store: Store[Any]) -> None:
    proxy = store.proxy([1, 2, 3])
    assert isinstance(proxy, Proxy) or type(proxy) is Proxy
    assert is_resolved(proxy)
    assert proxy == [1, 2, 3]
    factory = get_factory(proxy)
    assert isinstance(factory, StoreFactory)
    assert store.get(factory.key) == [1, 2, 3]


def test_proxy_without_populate_target(store: Store[Any]) -> None:
    proxy = store.proxy({'a': 1}, populate_target=False)
    assert not is_resolved(proxy)
    assert proxy['a'] == 1
    assert is_resolved(proxy)
    # The proxy resolved through this store, which is registered now (a
    # store of the proxy's name is registered after resolving).
    assert get_store(store.name) is store


def test_store_wide_populate_target(store_name: str) -> None:
    with Store(store_name, LocalConnector(), populate_target=False) as store:
        assert not is_resolved(store.proxy('a'))
        assert is_resolved(store.proxy('a', populate_target=True))


def test_populated_proxy_has_class_and_hash(store: Store[Any]) -> None:
    proxy = store.proxy('hello')
    clone = pickle.loads(pickle.dumps(proxy))
    assert not is_resolved(clone)
    assert isinstance(clone, str)
    assert hash(clone) == hash('hello')
    assert not is_resolved(clone)


@pytest.mark.parametrize('obj', NON_PROXIABLE)
def test_nonproxiable(store: Store[Any], obj: Any) -> None:
    before = stored_count(store)
    with pytest.raises(
        NonProxiableTypeError,
        match=f'^Object of {re.escape(str(type(obj)))} is not proxiable.',
    ):
        store.proxy(obj)
    with pytest.raises(
        NonProxiableTypeError,
        match='Input sequence contains 2 objects that are not proxiable',
    ):
        store.proxy_batch(['ok', obj, obj])
    with pytest.raises(NonProxiableTypeError):
        store.locked_proxy(obj, skip_nonproxiable=False)
    assert stored_count(store) == before
    assert store.proxy(obj, skip_nonproxiable=True) is obj
    assert store.locked_proxy(obj) is obj
    assert stored_count(store) == before


EVICT_LIFETIME = (
    'The evict and lifetime parameters are mutually exclusive. '
    'Only set one of evict or lifetime.'
)


def test_evict_and_lifetime_are_exclusive(store: Store[Any]) -> None:
    before = stored_count(store)
    with ContextLifetime(store) as lifetime:
        with pytest.raises(ValueError, match=EVICT_LIFETIME):
            store.proxy('x', evict=True, lifetime=lifetime)
        with pytest.raises(ValueError, match=EVICT_LIFETIME):
            store.proxy_batch(['x'], evict=True, lifetime=lifetime)
        with pytest.raises(ValueError, match=EVICT_LIFETIME):
            store.locked_proxy('x', evict=True, lifetime=lifetime)
        key = store.put('x')
        with pytest.raises(ValueError, match=EVICT_LIFETIME):
            store.proxy_from_key(key, evict=True, lifetime=lifetime)
        store.evict(key)
    assert stored_count(store) == before


def test_proxy_evict(store: Store[Any]) -> None:
    proxy = store.proxy('value', evict=True, populate_target=False)
    key = get_key(proxy)
    assert store.exists(key)
    assert proxy == 'value'
    assert not store.exists(key)


def test_proxy_kwargs_go_to_connector(store: Store[Any]) -> None:
    with pytest.raises(TypeError):
        store.proxy('value', not_a_connector_option=True)


def test_proxy_batch(store: Store[Any]) -> None:
    objs = ['a', None, [1], True]
    proxies = store.proxy_batch(
        objs,
        skip_nonproxiable=True,
        populate_target=False,
    )
    assert proxies[1] is None
    assert proxies[3] is True
    assert not is_resolved(proxies[0])
    assert proxies[0] == 'a'
    assert proxies[2] == [1]
    assert store.proxy_batch([]) == []


def test_proxy_from_key(store: Store[Any]) -> None:
    key = store.put('value')
    proxy = store.proxy_from_key(key)
    assert not is_resolved(proxy)
    assert proxy == 'value'
    evicting = store.proxy_from_key(key, evict=True)
    assert evicting == 'value'
    assert not store.exists(key)


def test_locked_proxy(store: Store[Any]) -> None:
    locker = store.locked_proxy([1, 2])
    assert isinstance(locker, ProxyLocker)
    proxy = locker.unlock()
    assert proxy == [1, 2]


def test_owned_proxy(store: Store[Any]) -> None:
    ref = pytest.importorskip('proxystore.store.ref')
    owned = store.owned_proxy([1, 2])
    assert type(owned) is ref.OwnedProxy
    assert owned == [1, 2]
    assert store.owned_proxy(None) is None
    with pytest.raises(NonProxiableTypeError):
        store.owned_proxy(None, skip_nonproxiable=False)


def test_future_needs_deferrable_connector(store_name: str) -> None:
    with Store(store_name, DictConnector()) as store:
        with pytest.raises(NotImplementedError, match='DeferrableConnector'):
            store.future()


def test_config_round_trip(
    tmp_path: pathlib.Path,
    store_name: str,
) -> None:
    connector = FileConnector(str(tmp_path / 'store'))
    with Store(
        store_name,
        connector,
        serializer=json_like_serializer,
        deserializer=json_like_deserializer,
        cache_size=3,
        metrics=True,
        populate_target=False,
    ) as store:
        key = store.put([1, 2])
        config = store.config()
        assert isinstance(config, StoreConfig)
        assert config.name == store_name
        assert config.connector.kind == (
            'proxystore.connectors.file.FileConnector'
        )
        assert config.cache_size == 3
        assert config.metrics
        assert not config.populate_target
        assert config.serializer is json_like_serializer
        assert StoreConfig.model_validate(config.model_dump()) == config
        other = Store.from_config(config)
        assert other.get(key) == [1, 2]
        assert other.metrics is not None
        assert other.config() == config


def test_close(tmp_path: pathlib.Path, store_name: str) -> None:
    connector = DictConnector()
    store = Store(store_name, connector, register=True)
    with store:
        pass
    assert connector.closed
    assert get_store(store_name) is None
    store.close()  # Closing again does nothing.

    store_dir = tmp_path / 'kept'
    kept = Store(store_name, FileConnector(str(store_dir)))
    key = kept.put('value')
    kept.close(clear=False)  # Arguments go to the connector.
    assert store_dir.exists()
    with Store(store_name, FileConnector(str(store_dir))) as reopened:
        assert reopened.get(key) == 'value'
    assert not store_dir.exists()


def test_thread_safety(store: Store[Any]) -> None:
    def work(thread: int) -> None:
        for i in range(40):
            value = [thread, i]
            key = store.put(value)
            assert store.get(key) == value
            proxy = store.proxy(value, populate_target=i % 2 == 0)
            assert proxy == value
            batch = store.proxy_batch([thread, i])
            assert list(batch) == [thread, i]
            assert store.exists(key)
            store.evict(key)
            assert not store.exists(key)

    run_in_threads(work, 8)


def test_proxies_resolve_in_spawned_processes(
    file_store: Store[Any],
    spawn_pool: ProcessPoolExecutor,
) -> None:
    data = {'numbers': list(range(10)), 'name': 'proxy'}
    array = np.arange(1000, dtype=np.float64)
    proxy = file_store.proxy(data)
    array_proxy = file_store.proxy(array, populate_target=False)
    assert spawn_pool.submit(resolve_in_worker, proxy).result() == data
    assert spawn_pool.submit(sum_in_worker, array_proxy).result() == float(
        array.sum(),
    )
    batch = file_store.proxy_batch([data, 'text'])
    results = list(spawn_pool.map(resolve_in_worker, batch))
    assert results == [data, 'text']


def test_populated_proxy_in_spawned_process(
    file_store: Store[Any],
    spawn_pool: ProcessPoolExecutor,
) -> None:
    # Tuples of ints hash the same in every process (str hashes do not).
    proxy = file_store.proxy((1, 2, 3))
    is_tuple, proxy_hash, resolved = spawn_pool.submit(
        inspect_populated_proxy,
        proxy,
    ).result()
    assert is_tuple
    assert proxy_hash == hash((1, 2, 3))
    assert not resolved


def test_proxy_of_unresolved_proxy_does_not_resolve_it(
    store: Store[Any],
) -> None:
    inner = store.proxy('inner', populate_target=False)
    outer = store.proxy(inner, populate_target=False)
    assert not is_resolved(inner)
    assert outer == 'inner'


def test_local_data_in_config_reaches_spawned_process(
    store_name: str,
    spawn_pool: ProcessPoolExecutor,
) -> None:
    connector = LocalConnector(include_data_in_config=True)
    with Store(store_name, connector) as store:
        first = store.proxy([1, 2], populate_target=False)
        # Factories share one config object until the connector's
        # configuration changes; the data put afterwards must travel too.
        second = store.proxy([3, 4], populate_target=False)
        assert spawn_pool.submit(resolve_in_worker, second).result() == [3, 4]
        assert first == [1, 2]


def test_find_open_store(tmp_path: pathlib.Path, store_name: str) -> None:
    store = Store(store_name, FileConnector(str(tmp_path / 'a')))
    config = store.config()
    assert find_open_store(config) is store
    other_dir = config.model_copy(
        update={
            'connector': config.connector.model_copy(
                update={'options': {'store_dir': str(tmp_path / 'b')}},
            ),
        },
    )
    assert find_open_store(other_dir) is None
    store.close()
    assert find_open_store(config) is None


@pytest.mark.parametrize('obj', [0, '', [], b'', 0.0])
def test_falsy_objects_are_proxiable(store: Store[Any], obj: Any) -> None:
    proxy = store.proxy(obj)
    assert is_resolved(proxy)
    assert proxy == obj
    lazy = store.proxy(obj, populate_target=False)
    assert lazy == obj


def test_cache_hits_do_not_wait_for_slow_connector_calls(
    store_name: str,
) -> None:
    connector = GatedConnector()
    with Store(store_name, connector) as store:
        key = store.put([1, 2])
        other = store.put('other')
        cached = store.get(key)
        connector.gated = True
        writer = threading.Thread(
            target=store.put,
            args=(np.zeros(1 << 20),),
        )
        writer.start()
        assert connector.put_waiting.wait(60)
        hits: list[Any] = []
        reader = threading.Thread(target=lambda: hits.append(store.get(key)))
        reader.start()
        reader.join(timeout=30)
        hit_while_writing = not reader.is_alive()
        # Connector calls are still serialized by the store's lock.
        checker = threading.Thread(target=store.exists, args=(other,))
        checker.start()
        checker.join(timeout=0.2)
        exists_waited = checker.is_alive()
        connector.gate_open.set()
        for thread in (writer, reader, checker):
            thread.join()
        assert hit_while_writing
        assert hits[0] is cached
        assert exists_waited
        assert store.get(other) == 'other'


def test_closed(store_name: str) -> None:
    store = Store(store_name, LocalConnector())
    assert not store.closed
    store.close()
    assert store.closed


def test_cache_is_public_and_repr_matches_proxystore(store_name: str) -> None:
    with Store(store_name, LocalConnector(), cache_size=4) as store:
        assert isinstance(store.cache, LRUCache)
        assert store.cache.maxsize == 4
        key = store.put('value')
        store.get(key)
        assert store.cache.exists(key)
        assert repr(store) == (
            f'Store(name={store_name}, connector={store.connector!r}, '
            'serializer=default, deserializer=default, cache_size=4, '
            'metrics=False, populate_target=True, auto_register=False)'
        )
    with Store(
        store_name,
        LocalConnector(),
        serializer=serialize,
        deserializer=deserialize,
        metrics=True,
        register=True,
    ) as store:
        assert 'serializer=custom, deserializer=custom' in repr(store)
        assert 'metrics=True' in repr(store)
        assert 'auto_register=True' in repr(store)


def test_exists_is_answered_by_the_cache(store_name: str) -> None:
    connector = DictConnector()
    with Store(store_name, connector) as store:
        key = store.put('value')
        assert store.get(key) == 'value'
        # Removed behind the store's back: the cached copy still answers.
        connector.data.clear()
        assert store.exists(key)
        store.evict(key)
        assert not store.exists(key)


def test_set_passes_keyword_arguments_to_the_connector(
    store_name: str,
) -> None:
    received: list[dict[str, Any]] = []

    class RecordingConnector(LocalConnector):
        def set(self, key: Any, obj: Any, **kwargs: Any) -> None:
            received.append(kwargs)
            super().set(key, obj)

    with Store(store_name, RecordingConnector()) as store:
        key = store.connector.new_key()
        store._set(key, 'value', tag='x')
        assert received == [{'tag': 'x'}]
        assert store.get(key) == 'value'


def test_base_module_reexports() -> None:
    import proxystore.store.base as base
    from proxystore.store.lifetimes import Lifetime
    from proxystore.store.ref import OwnedProxy
    from proxystore.store.ref import into_owned

    assert base.StoreFactory is StoreFactory
    assert base.OwnedProxy is OwnedProxy
    assert base.into_owned is into_owned
    assert base.Lifetime is Lifetime
    for name in (
        'PollingStoreFactory',
        'StoreExistsError',
        'Timer',
        'BytesLike',
        'is_bytes_like',
        'get_object_path',
        'NonProxiableT',
    ):
        assert hasattr(base, name), name
