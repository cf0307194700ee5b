from __future__ import annotations

import pytest

from proxystore.store.cache import LRUCache


def test_get_set_exists_evict() -> None:
    cache: LRUCache[str, int] = LRUCache(maxsize=2)
    assert cache.get('a') is None
    assert cache.get('a', 7) == 7
    cache.set('a', 1)
    assert cache.exists('a')
    assert cache.get('a') == 1
    cache.evict('a')
    assert not cache.exists('a')
    cache.evict('a')  # Missing key: no-op.
    assert cache.hits == 1
    assert cache.misses == 2


def test_least_recently_used_is_dropped() -> None:
    cache: LRUCache[str, int] = LRUCache(maxsize=2)
    cache.set('a', 1)
    cache.set('b', 2)
    cache.get('a')  # 'b' becomes the least recently used.
    cache.set('c', 3)
    assert cache.exists('a')
    assert not cache.exists('b')
    assert cache.exists('c')
    assert len(cache) == 2


def test_overwrite_keeps_size() -> None:
    cache: LRUCache[str, int] = LRUCache(maxsize=2)
    cache.set('a', 1)
    cache.set('a', 2)
    assert cache.get('a') == 2
    assert len(cache) == 1


def test_zero_size_disables_cache() -> None:
    cache: LRUCache[str, int] = LRUCache(maxsize=0)
    cache.set('a', 1)
    assert not cache.exists('a')
    assert len(cache) == 0


def test_negative_size_is_an_error() -> None:
    with pytest.raises(ValueError, match='Cache size must by >= 0'):
        LRUCache(maxsize=-1)


def test_clear_and_repr() -> None:
    cache: LRUCache[str, int] = LRUCache()
    cache.set('a', 1)
    assert 'maxsize=16' in repr(cache)
    cache.clear()
    assert len(cache) == 0


def test_cache_is_thread_safe() -> None:
    import threading

    cache: LRUCache[int, int] = LRUCache(8)
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(2000):
                cache.set((i + offset) % 32, i)
                cache.get((i * 7) % 32)
                cache.evict((i * 3) % 32)
        except BaseException as e:  # pragma: no cover
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(cache) <= 8
