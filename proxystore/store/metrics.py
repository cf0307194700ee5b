"""Operation metrics recorded by a [`Store`][proxystore.store.base.Store].

A store created with `metrics=True` records, for every key, the time spent
in each operation (`store.put`, `store.put.serialize`,
`store.put.connector`, `store.get`, `store.get.connector`,
`store.get.deserialize`, `store.proxy`, `store.evict`, `store.exists`,
`factory.resolve`), cache hit/miss counters (`store.get.cache_hits`,
`store.get.cache_misses`) and object sizes in bytes
(`store.put.object_size`, `store.get.object_size`). Batch operations are
recorded under the list of their keys.

Every method taking a key also takes a list or tuple of keys (a batch; a
list and a tuple of the same keys are the same batch), a proxy created by
the store (its key is used, the proxy is not resolved), or a sequence of
such proxies.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import threading
import time
from collections.abc import Sequence
from typing import Any
from typing import TypeAlias
from typing import cast

from proxystore.proxy import Proxy
from proxystore.store.types import ConnectorKeyT
from proxystore.store.utils import get_key

KeyT: TypeAlias = ConnectorKeyT | Sequence[ConnectorKeyT]
"""A connector key, or a sequence of keys of a batch operation."""

ProxyT: TypeAlias = Proxy[Any] | Sequence[Proxy[Any]]
"""A store proxy, or a sequence of proxies of a batch operation."""


def _is_proxy(value: Any) -> bool:
    # type() rather than isinstance(): isinstance() would resolve a proxy.
    return issubclass(type(value), Proxy)


def _normalize(key: KeyT | ProxyT) -> Any:
    """Return the dictionary key of a key, batch of keys, or proxies."""
    if _is_proxy(key):
        return get_key(cast(Proxy[Any], key))
    # Connector keys are NamedTuples: only plain lists and tuples are
    # batches.
    if type(key) in (list, tuple):
        keys = cast(Sequence[Any], key)
        return tuple(get_key(k) if _is_proxy(k) else k for k in keys)
    return key


@dataclasses.dataclass
class TimeStats:
    """Running statistics of the durations of one operation.

    Attributes:
        count: Number of recorded durations.
        avg_time_ms: Mean duration in milliseconds.
        min_time_ms: Shortest duration in milliseconds.
        max_time_ms: Longest duration in milliseconds.
        last_time_ms: Most recent duration in milliseconds.
        last_timestamp: Unix time at which the most recent duration was
            recorded.
    """

    count: int = 0
    avg_time_ms: float = 0.0
    min_time_ms: float = math.inf
    max_time_ms: float = 0.0
    last_time_ms: float = 0.0
    last_timestamp: float = 0.0

    def add_time(self, time_ms: float) -> None:
        """Record one more duration of `time_ms` milliseconds."""
        total = self.avg_time_ms * self.count + time_ms
        self.count += 1
        self.avg_time_ms = total / self.count
        self.min_time_ms = min(self.min_time_ms, time_ms)
        self.max_time_ms = max(self.max_time_ms, time_ms)
        self.last_time_ms = time_ms
        self.last_timestamp = time.time()

    def __add__(self, other: TimeStats) -> TimeStats:
        if not isinstance(other, TimeStats):
            return NotImplemented
        count = self.count + other.count
        if count == 0:
            return TimeStats()
        latest = max(self, other, key=lambda s: s.last_timestamp)
        return TimeStats(
            count=count,
            avg_time_ms=(
                self.avg_time_ms * self.count + other.avg_time_ms * other.count
            )
            / count,
            min_time_ms=min(self.min_time_ms, other.min_time_ms),
            max_time_ms=max(self.max_time_ms, other.max_time_ms),
            last_time_ms=latest.last_time_ms,
            last_timestamp=latest.last_timestamp,
        )

    def as_dict(self) -> dict[str, Any]:
        """Return the statistics as a plain dictionary."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class Metrics:
    """Everything recorded about one key (or one batch of keys).

    Attributes:
        attributes: Arbitrary named values (e.g. object sizes).
        counters: Named integer counters (e.g. cache hits).
        times: Named [`TimeStats`][proxystore.store.metrics.TimeStats].
    """

    attributes: dict[str, Any] = dataclasses.field(default_factory=dict)
    counters: dict[str, int] = dataclasses.field(default_factory=dict)
    times: dict[str, TimeStats] = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Return the metrics as nested plain dictionaries."""
        return dataclasses.asdict(self)


class StoreMetrics:
    """Per-key metrics of the operations of one store.

    Thread-safe. Keys are connector keys, or lists or tuples of connector
    keys (or store proxies) for batch operations.
    """

    def __init__(self) -> None:
        self._metrics: dict[Any, Metrics] = {}
        self._lock = threading.Lock()

    def _entry(self, key: Any) -> Metrics:
        metrics = self._metrics.get(key)
        if metrics is None:
            metrics = self._metrics[key] = Metrics()
        return metrics

    def add_attribute(
        self,
        name: str,
        key: KeyT | ProxyT,
        value: Any,
    ) -> None:
        """Set the attribute `name` of `key` to `value`."""
        key = _normalize(key)
        with self._lock:
            self._entry(key).attributes[name] = value

    def add_counter(self, name: str, key: KeyT | ProxyT, value: int) -> None:
        """Add `value` to the counter `name` of `key`."""
        key = _normalize(key)
        with self._lock:
            counters = self._entry(key).counters
            counters[name] = counters.get(name, 0) + value

    def add_time(
        self,
        name: str,
        key: KeyT | ProxyT,
        time_ms: float,
    ) -> None:
        """Record a duration of `time_ms` milliseconds for `name` of `key`."""
        key = _normalize(key)
        with self._lock:
            times = self._entry(key).times
            stats = times.get(name)
            if stats is None:
                stats = times[name] = TimeStats()
            stats.add_time(time_ms)

    def aggregate_times(self) -> dict[str, TimeStats]:
        """Combine the time statistics of every key, per operation name."""
        totals: dict[str, TimeStats] = {}
        with self._lock:
            for metrics in self._metrics.values():
                for name, stats in metrics.times.items():
                    totals[name] = totals.get(name, TimeStats()) + stats
        return totals

    def get_metrics(self, key_or_proxy: KeyT | ProxyT) -> Metrics | None:
        """Return the metrics of a key, a batch of keys, or store proxies.

        Args:
            key_or_proxy: A connector key, a list or tuple of keys (batch
                operations), a proxy created by the store (it is not
                resolved), or a sequence of such proxies.

        Returns:
            A copy of the [`Metrics`][proxystore.store.metrics.Metrics]
            (later operations do not change it), or `None` if nothing was
            recorded for the key.
        """
        key = _normalize(key_or_proxy)
        with self._lock:
            metrics = self._metrics.get(key)
            return None if metrics is None else copy.deepcopy(metrics)
