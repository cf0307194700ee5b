"""Least-recently-used cache of deserialized objects."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any
from typing import Generic
from typing import TypeVar

KeyT = TypeVar('KeyT')
ValueT = TypeVar('ValueT')

_MISSING: Any = object()


class LRUCache(Generic[KeyT, ValueT]):
    """Least-recently-used cache holding at most `maxsize` objects.

    Thread-safe: every method holds an internal lock.

    Args:
        maxsize: Maximum number of objects kept. `0` disables the cache
            (nothing is ever stored).

    Raises:
        ValueError: If `maxsize` is negative.
    """

    def __init__(self, maxsize: int = 16) -> None:
        if maxsize < 0:
            raise ValueError(f'Cache size must by >= 0, got {maxsize}.')
        self.maxsize = maxsize
        self.hits = 0
        self.misses = 0
        self._data: OrderedDict[KeyT, ValueT] = OrderedDict()
        self._lock = threading.RLock()

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(maxsize={self.maxsize}, '
            f'size={len(self._data)})'
        )

    def get(self, key: KeyT, default: ValueT | None = None) -> ValueT | None:
        """Return the object cached under `key`, or `default` if absent.

        A hit marks `key` as the most recently used entry.
        """
        with self._lock:
            value: ValueT = self._data.get(key, _MISSING)
            if value is _MISSING:
                self.misses += 1
                return default
            self._data.move_to_end(key)
            self.hits += 1
            return value

    def set(self, key: KeyT, value: ValueT) -> None:
        """Cache `value` under `key`, dropping the least recently used."""
        if self.maxsize == 0:
            return
        with self._lock:
            data = self._data
            if key in data:
                data.move_to_end(key)
            data[key] = value
            if len(data) > self.maxsize:
                data.popitem(last=False)

    def exists(self, key: KeyT) -> bool:
        """Check if `key` is cached (does not change the usage order)."""
        return key in self._data

    def evict(self, key: KeyT) -> None:
        """Drop `key` from the cache (no-op if absent)."""
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        """Drop every cached object."""
        with self._lock:
            self._data.clear()
