from __future__ import annotations

import threading

import pytest

from proxystore.utils.counter import AtomicCounter


def test_increment_returns_the_value_before() -> None:
    counter = AtomicCounter()
    assert [counter.increment() for _ in range(3)] == [0, 1, 2]


def test_bounded_counter_raises_past_its_size() -> None:
    counter = AtomicCounter(size=2)
    assert counter.increment() == 0
    assert counter.increment() == 1
    with pytest.raises(ValueError, match=r'Max counter size exceeded \(2\)'):
        counter.increment()
    # The failed call handed out nothing and the counter stays full.
    with pytest.raises(ValueError):
        counter.increment()


def test_zero_size_counter_hands_out_nothing() -> None:
    with pytest.raises(ValueError, match='exceeded'):
        AtomicCounter(size=0).increment()


@pytest.mark.timeout(30)
def test_threads_get_distinct_values() -> None:
    counter = AtomicCounter(size=4000)
    seen: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        values = [counter.increment() for _ in range(1000)]
        with lock:
            seen.extend(values)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(seen) == list(range(4000))
