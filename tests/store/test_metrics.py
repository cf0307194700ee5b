from __future__ import annotations

import math
from typing import Any

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
        ):
            assert name in metrics.times, name
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
        for proxy in proxies:
            assert store.metrics.get_metrics(proxy) is not None


def test_batch_metrics() -> None:
    with Store('metrics', LocalConnector(), metrics=True) as store:
        assert store.metrics is not None
        keys = store.put_batch(['a', 'b'])
        metrics = store.metrics.get_metrics(tuple(keys))
        assert metrics is not None
        assert 'store.put_batch' in metrics.times
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
