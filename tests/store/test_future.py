from __future__ import annotations

import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from proxystore.proxy import is_resolved
from proxystore.store import Store
from proxystore.store.exceptions import ProxyResolveMissingKeyError
from proxystore.store.future import Future


def set_in_worker(future: Future[Any], value: Any) -> None:
    """Run in a spawned process."""
    future.set_result(value)


def use_proxy_in_worker(proxy: Any) -> int:
    """Run in a spawned process: blocks until the result is set."""
    return sum(proxy)


def test_future_in_process(file_store: Store[Any]) -> None:
    future: Future[list[int]] = file_store.future(polling_interval=0.001)
    proxy = future.proxy()
    assert not future.done()
    assert not is_resolved(proxy)
    future.set_result([1, 2, 3])
    assert future.done()
    assert future.result() == [1, 2, 3]
    assert proxy == [1, 2, 3]
    assert 'Future' in repr(future)


def test_future_set_in_spawned_process(
    file_store: Store[Any],
    spawn_pool: ProcessPoolExecutor,
) -> None:
    future: Future[dict[str, int]] = file_store.future(
        polling_interval=0.01,
        polling_timeout=60,
    )
    spawn_pool.submit(set_in_worker, future, {'a': 1}).result()
    assert future.done()
    assert future.result() == {'a': 1}


def test_future_proxy_waits_in_spawned_process(
    file_store: Store[Any],
    spawn_pool: ProcessPoolExecutor,
) -> None:
    future: Future[list[int]] = file_store.future(
        polling_interval=0.01,
        polling_timeout=60,
    )
    waiting = spawn_pool.submit(use_proxy_in_worker, future.proxy())
    future.set_result([4, 5, 6])
    assert waiting.result() == 15


def test_future_timeout(file_store: Store[Any]) -> None:
    future: Future[Any] = file_store.future(
        polling_interval=0.001,
        polling_timeout=0.01,
    )
    with pytest.raises(ProxyResolveMissingKeyError, match='polling timeout'):
        future.result()


def test_future_evict(file_store: Store[Any]) -> None:
    future: Future[str] = file_store.future(evict=True, polling_interval=0.01)
    future.set_result('value')
    assert future.proxy() == 'value'
    assert not future.done()


def test_future_custom_serializers(file_store: Store[Any]) -> None:
    future: Future[str] = file_store.future(
        serializer=lambda s: s.encode(),
        deserializer=lambda b: bytes(b).decode(),
        polling_interval=0.01,
    )
    future.set_result('text')
    assert file_store.connector.get(future.factory.key) == b'text'
    assert future.result() == 'text'


def test_future_bad_serializer_output(file_store: Store[Any]) -> None:
    future: Future[str] = file_store.future(serializer=lambda s: s)
    with pytest.raises(TypeError, match='bytes'):
        future.set_result('not bytes')
    assert not future.done()


def test_future_pickles(file_store: Store[Any]) -> None:
    future: Future[int] = file_store.future(polling_interval=0.01)
    clone = pickle.loads(pickle.dumps(future))
    clone.set_result(5)
    assert future.result() == 5
