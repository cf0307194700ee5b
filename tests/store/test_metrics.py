from __future__ import annotations

import math
from typing import Any

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.store import Store
from proxystore.store.metrics import Metrics
from proxystore.store.metrics import StoreMetrics
from proxystore.store.metrics import TimeStats
from proxystore.store.utils import get_key


def test_time_stats() -> None:
    stats = TimeStats()
    assert stats.count == 0
    assert stats.min_time_ms == math.inf
    stats.add_time(2.0)
    stats.add_time(4.0)
    assert stats.count == 2
    assert stats.avg_time_ms == 3.0
    assert stats.min_time_ms == 2.0
    assert stats.max_time_ms == 4.0
    assert stats.last_time_ms == 4.0
    assert stats.last_timestamp > 0
    assert stats.as_dict()['count'] == 2


def test_time_stats_add() -> None:
    a = TimeStats()
    a.add_time(1.0)
    b = TimeStats()
    b.add_time(3.0)
    b.add_time(5.0)
    total = a + b
    assert total.count == 3
    assert total.avg_time_ms == 3.0
    assert total.min_time_ms == 1.0
    assert total.max_time_ms == 5.0
    assert total.last_time_ms == 5.0
    assert (TimeStats() + TimeStats()).count == 0


def test_metrics_as_dict() -> None:
    metrics = Metrics()
    metrics.attributes['size'] = 3
    metrics.counters['hits'] = 1
    metrics.times['op'] = TimeStats()
    as_dict = metrics.as_dict()
    assert as_dict['attributes'] == {'size': 3}
    assert as_dict['counters'] == {'hits': 1}
    assert as_dict['times']['op']['count'] == 0


def test_store_metrics_recording() -> None:
    metrics = StoreMetrics()
    metrics.add_attribute('size', 'key', 10)
    metrics.add_counter('hits', 'key', 1)
    metrics.add_counter('hits', 'key', 2)
    metrics.add_time('op', 'key', 1.0)
    metrics.add_time('op', 'other', 3.0)
    recorded = metrics.get_metrics('key')
    assert recorded is not None
    assert recorded.attributes == {'size': 10}
    assert recorded.counters == {'hits': 3}
    assert recorded.times['op'].count == 1
    assert metrics.get_metrics('missing') is None
    aggregated = metrics.aggregate_times()
    assert aggregated['op'].count == 2
    assert aggregated['op'].avg_time_ms == 2.0


def test_store_records_operations() -> None:
    with Store('metrics', LocalConnector(), metrics=True) as store:
        assert store.metrics is not None
        key = store.put('value')
        store.get(key)
        store.get(key)  # Cache hit.
        store.exists(key)
        store.evict(key)
        metrics = store.metrics.get_metrics(key)
        assert metrics is not None
        for name in (
            'store.put',
            'store.put.serialize',
            'store.put.connector',
            'store.get',
            'store.get.connector',
            'store.get.deserialize',
            'store.exists',
            'store.evict',
            'store.evict.connector',
        ):
            assert name in metrics.times, name
        # The second get and the exists were answered by the cache.
        assert 'store.exists.connector' not in metrics.times
        assert metrics.times['store.get'].count == 2
        assert metrics.counters == {
            'store.get.cache_misses': 1,
            'store.get.cache_hits': 1,
        }
        assert metrics.attributes['store.put.object_size'] > 0
        assert metrics.attributes['store.get.object_size'] > 0


def test_proxy_metrics_by_proxy() -> None:
    with Store('metrics', LocalConnector(), metrics=True) as store:
        assert store.metrics is not None
        proxy: Any = store.proxy([1, 2], populate_target=False)
        assert proxy == [1, 2]
        metrics = store.metrics.get_metrics(proxy)
        assert metrics is not None
        assert 'store.proxy' in metrics.times
        assert 'factory.resolve' in metrics.times

        proxies = store.proxy_batch(['a', 'b'])
        # A batch is recorded under its keys together, not per key.
        batch = store.metrics.get_metrics(proxies)
        assert batch is not None
        assert 'store.proxy_batch' in batch.times
        assert store.metrics.get_metrics(proxies[0]) is None


def test_batch_metrics() -> None:
    with Store('metrics', LocalConnector(), metrics=True) as store:
        assert store.metrics is not None
        keys = store.put_batch(['a', 'b'])
        # A list of keys is a batch key (as in ProxyStore): no TypeError.
        metrics = store.metrics.get_metrics(keys)
        assert metrics is not None
        assert store.metrics.get_metrics(tuple(keys)) == metrics
        assert 'store.put_batch' in metrics.times
        for name in ('store.put_batch.serialize', 'store.put_batch.connector'):
            assert name in metrics.times, name
        sizes = metrics.attributes['store.put_batch.object_sizes']
        assert sizes == sum(len(store.connector.get(key)) for key in keys)
        assert store.metrics.get_metrics(keys[0]) is None
        assert store.metrics.aggregate_times()['store.put_batch'].count == 1
        proxies = store.proxy_batch(['c', 'd'])
        batch = tuple(get_key(proxy) for proxy in proxies)
        proxy_metrics = store.metrics.get_metrics(batch)
        assert proxy_metrics is not None
        assert 'store.proxy_batch' in proxy_metrics.times
        assert 'store.put_batch' in proxy_metrics.times


def test_metrics_disabled() -> None:
    with Store('metrics', LocalConnector()) as store:
        assert store.metrics is None
        store.get(store.put('value'))


def test_get_metrics_returns_a_copy() -> None:
    with Store('metrics', LocalConnector(), metrics=True) as store:
        assert store.metrics is not None
        key = store.put('value')
        before = store.metrics.get_metrics(key)
        assert before is not None
        before.counters['mine'] = 1
        store.get(key)
        after = store.metrics.get_metrics(key)
        assert after is not None
        assert 'mine' not in after.counters
        assert 'store.get' not in before.times
        assert after.times['store.get'].count == 1


def test_store_metrics_accepts_lists_tuples_and_proxies() -> None:
    metrics = StoreMetrics()
    metrics.add_time('op', ['a', 'b'], 1.0)
    metrics.add_counter('n', ('a', 'b'), 2)
    metrics.add_attribute('size', ['a', 'b'], 3)
    recorded = metrics.get_metrics(['a', 'b'])
    assert recorded is not None
    assert recorded.times['op'].count == 1
    assert recorded.counters == {'n': 2}
    assert recorded.attributes == {'size': 3}
    assert metrics.get_metrics(('a', 'b')) == recorded
    assert metrics.get_metrics('a') is None


def test_missing_key_and_miss_path_metrics() -> None:
    with Store('metrics', LocalConnector(), metrics=True) as store:
        assert store.metrics is not None
        key = store.put('value')
        store.evict(key)
        assert store.get(key) is None
        metrics = store.metrics.get_metrics(key)
        assert metrics is not None
        # store.get is recorded on a miss too, with the connector time.
        assert metrics.times['store.get'].count == 1
        assert metrics.times['store.get.connector'].count == 1
        assert 'store.get.deserialize' not in metrics.times
        assert metrics.counters['store.get.cache_misses'] == 1
        assert not store.exists(key)
        metrics = store.metrics.get_metrics(key)
        assert metrics is not None
        assert metrics.times['store.exists.connector'].count == 1


def test_future_and_set_metrics(tmp_path: Any) -> None:
    connector = FileConnector(str(tmp_path / 'store'))
    with Store('metrics', connector, metrics=True) as store:
        assert store.metrics is not None
        future = store.future()
        future.set_result([1, 2, 3])
        metrics = store.metrics.get_metrics(future.factory.key)
        assert metrics is not None
        for name in (
            'store.future',
            'store.future.connector',
            'store.set',
            'store.set.serialize',
            'store.set.connector',
        ):
            assert metrics.times[name].count == 1, name
        assert metrics.attributes['store.set.object_size'] > 0


def test_metric_key_aliases_and_factory_call() -> None:
    from proxystore.store import metrics as metrics_module

    assert metrics_module.KeyT is not None
    assert metrics_module.ProxyT is not None
    with Store('metrics', LocalConnector(), metrics=True) as store:
        assert store.metrics is not None
        proxy: Any = store.proxy('value', populate_target=False)
        assert proxy == 'value'
        metrics = store.metrics.get_metrics(proxy)
        assert metrics is not None
        # Recorded in nanoseconds, as in ProxyStore.
        assert metrics.times['factory.call'].count == 1
        assert metrics.times['factory.resolve'].count == 1
