"""StoreExecutor on real engines: a spawned process pool and Dask."""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved
from proxystore.store import Store
from proxystore.store import get_store
from proxystore.store.executor import ProxyAlways
from proxystore.store.executor import ProxyNever
from proxystore.store.executor import ProxyType
from proxystore.store.executor import StoreExecutor
from proxystore.store.ref import MutableBorrowError
from proxystore.store.ref import OwnedProxy
from proxystore.store.ref import borrow
from proxystore.store.ref import drop
from proxystore.store.ref import mut_borrow
from proxystore.store.ref import update
from proxystore.store.scopes import FutureWithCallback
from proxystore.store.scopes import submit as scoped_submit
from proxystore.store.utils import get_key
from tests.helpers.docs import ROOT
from tests.helpers.scripts import run_python
from tests.store._ownership_helpers import is_mutably_borrowable
from tests.store._ownership_helpers import store_becomes_empty
from tests.store._ownership_helpers import stored_files
from tests.store._ownership_helpers import wait_until

distributed = pytest.importorskip('distributed')

EXAMPLE = ROOT / 'examples' / 'dask_mapreduce.py'

# --- functions run on the workers -----------------------------------------


def remote_type_names(*args: Any, **kwargs: Any) -> list[str]:
    values = [*args, *kwargs.values()]
    return [type(v).__name__ for v in values]


def remote_type_and_sum(values: Any) -> tuple[str, int]:
    return type(values).__name__, sum(values)


def remote_double(values: Any) -> list[int]:
    return [2 * v for v in values]


def remote_square(x: Any) -> Any:
    return x * x


def remote_fail(values: Any) -> None:
    raise ValueError(f'cannot handle {len(values)} values')


def remote_append_and_update(values: Any, item: Any) -> int:
    values.append(item)
    update(values)
    return len(values)


def remote_wait(path: str) -> str:
    # Blocks until the test creates `path`, so the test controls ordering.
    while not os.path.exists(path):
        time.sleep(0.01)
    return path


# --- engines ------------------------------------------------------------


@pytest.fixture(scope='module')
def dask_cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        processes=True,
        n_workers=2,
        threads_per_worker=1,
        dashboard_address=None,
    ) as cluster:
        yield cluster


@pytest.fixture(scope='module')
def dask_client(dask_cluster: Any) -> Iterator[Any]:
    with distributed.Client(dask_cluster) as client:
        yield client


@pytest.fixture(params=['process', 'dask'])
def engine(request: pytest.FixtureRequest) -> Any:
    """A shared engine; tests never shut it down."""
    if request.param == 'process':
        return request.getfixturevalue('spawn_pool')
    return request.getfixturevalue('dask_client')


def make_executor(
    engine: Any,
    store: Store[Any],
    should_proxy: Any = None,
    **options: Any,
) -> StoreExecutor:
    return StoreExecutor(
        engine,
        store,
        should_proxy,
        close_store=False,
        **options,
    )


# --- policies -----------------------------------------------------------


def test_policies() -> None:
    assert ProxyAlways()(None)
    assert not ProxyNever()([1])
    policy = ProxyType(list, bytes)
    assert policy([1]) and policy(b'x')
    assert not policy('x') and not policy(1)


# --- proxying per policy --------------------------------------------------


def test_proxy_never_sends_values(
    engine: Any,
    file_store: Store[Any],
) -> None:
    executor = make_executor(engine, file_store)
    future = executor.submit(remote_type_names, [1, 2], key='value')
    assert type(future.result()) is list
    assert future.result() == ['list', 'str']
    assert stored_files(file_store) == []


def test_proxy_type_selects_args_and_results(
    engine: Any,
    file_store: Store[Any],
) -> None:
    executor = make_executor(engine, file_store, ProxyType(list))
    # The result is a list, so it comes back as an owned proxy too.
    names = executor.submit(remote_type_names, [1], 2, key=[3]).result()
    assert type(names) is OwnedProxy
    assert names == ['RefProxy', 'int', 'RefProxy']
    # A result of another type comes back as is.
    square = executor.submit(remote_square, 3).result()
    assert type(square) is int
    assert square == 9
    drop(names)
    assert store_becomes_empty(file_store)


def test_owned_results_are_evicted_when_dropped(
    engine: Any,
    file_store: Store[Any],
) -> None:
    executor = make_executor(engine, file_store, ProxyAlways())
    futures = [executor.submit(remote_double, [i, i]) for i in range(4)]
    results = [future.result() for future in futures]
    assert all(type(result) is OwnedProxy for result in results)
    assert results == [[2 * i, 2 * i] for i in range(4)]
    # Arguments were evicted when their tasks completed; results remain.
    assert wait_until(lambda: len(stored_files(file_store)) == 4)
    del futures, results
    assert store_becomes_empty(file_store)


def test_map(engine: Any, file_store: Store[Any]) -> None:
    executor = make_executor(engine, file_store, ProxyType(int))
    results = list(executor.map(remote_square, range(5), timeout=120))
    assert results == [0, 1, 4, 9, 16]
    assert all(type(r) is OwnedProxy for r in results)
    del results
    assert store_becomes_empty(file_store)


def test_without_ownership_first_resolve_evicts(
    engine: Any,
    file_store: Store[Any],
) -> None:
    executor = make_executor(
        engine,
        file_store,
        ProxyAlways(),
        ownership=False,
    )
    result = executor.submit(remote_type_and_sum, [1, 2]).result()
    assert type(result) is Proxy
    assert not is_resolved(result)
    key = get_key(result)
    # The worker resolved (and so evicted) the argument.
    assert result == ('Proxy', 3)
    assert not file_store.exists(key)
    assert store_becomes_empty(file_store)


def test_task_error_propagates_and_cleans_up(
    engine: Any,
    file_store: Store[Any],
) -> None:
    executor = make_executor(engine, file_store, ProxyAlways())
    future = executor.submit(remote_fail, [1, 2, 3])
    with pytest.raises(ValueError, match='cannot handle 3 values'):
        future.result()
    assert store_becomes_empty(file_store)
    # The executor keeps working after a failed task.
    assert executor.submit(remote_square, 4).result() == 16


@pytest.mark.parametrize('ownership', [True, False])
def test_failed_submission_leaves_nothing_behind(
    file_store: Store[Any],
    ownership: bool,
) -> None:
    context = multiprocessing.get_context('spawn')
    pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
    pool.shutdown()
    executor = make_executor(
        pool, file_store, ProxyAlways(), ownership=ownership
    )
    owned = file_store.owned_proxy([1])
    ref = borrow(owned)
    with pytest.raises(RuntimeError, match='shutdown'):
        executor.submit(remote_type_names, [1, 2], 'text', ref)
    # The arguments this call stored are gone; the caller's borrow stays.
    assert stored_files(file_store) == [get_key(owned).filename]
    with pytest.raises(MutableBorrowError):
        mut_borrow(owned)
    assert ref == [1]


# --- caller-owned proxies -------------------------------------------------


def test_caller_owner_is_lent_not_moved(
    engine: Any,
    file_store: Store[Any],
) -> None:
    executor = make_executor(engine, file_store)
    owned = file_store.owned_proxy([1, 2], populate_target=False)
    assert executor.submit(remote_type_names, owned).result() == ['RefProxy']
    assert wait_until(lambda: is_mutably_borrowable(owned))
    # The caller still owns it; nothing was fetched on the client.
    assert not is_resolved(owned)
    assert file_store.exists(get_key(owned))
    drop(owned)
    assert stored_files(file_store) == []


def test_mutably_borrowed_owner_is_refused(
    engine: Any,
    file_store: Store[Any],
) -> None:
    executor = make_executor(engine, file_store, ProxyAlways())
    owned = file_store.owned_proxy([1, 2])
    ref_mut = mut_borrow(owned)
    with pytest.raises(MutableBorrowError):
        executor.submit(remote_type_names, [3], owned)
    # Nothing was submitted or stored for the refused call.
    assert stored_files(file_store) == [get_key(owned).filename]
    assert ref_mut == [1, 2]


def test_mutable_borrow_written_back(
    engine: Any,
    file_store: Store[Any],
) -> None:
    executor = make_executor(engine, file_store)
    owned = file_store.owned_proxy([1, 2])
    future = executor.submit(remote_append_and_update, mut_borrow(owned), 3)
    assert future.result() == 3
    assert wait_until(lambda: is_mutably_borrowable(owned))
    assert owned == [1, 2, 3]


# --- lifecycle ------------------------------------------------------------


def test_cancel_queued_tasks(
    engine: Any,
    file_store: Store[Any],
    tmp_path: Path,
) -> None:
    gate = str(tmp_path / 'gate')
    executor = make_executor(engine, file_store, ProxyType(list))
    # Occupy both workers, then queue more tasks behind them.
    busy = [executor.submit(remote_wait, gate) for _ in range(2)]
    queued = [executor.submit(remote_double, [i]) for i in range(4)]
    cancelled = [future.cancel() for future in queued]
    assert all(
        f.cancelled() for f, c in zip(queued, cancelled, strict=True) if c
    )
    # Dask tells the client about a cancellation asynchronously, so cancel()
    # may answer False at first; the futures still end up cancelled.
    assert wait_until(lambda q=queued: any(f.cancelled() for f in q))
    open(gate, 'w').close()
    assert [future.result() for future in busy] == [gate, gate]
    for i, future in enumerate(queued):
        assert future.cancelled() or future.result() == [2 * i]
    # Arguments of cancelled tasks were evicted too; drop the results.
    del queued, future
    assert store_becomes_empty(file_store)


def test_shutdown_process_pool(file_store: Store[Any]) -> None:
    context = multiprocessing.get_context('spawn')
    pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
    executor = StoreExecutor(pool, file_store, ProxyType(list))
    assert get_store(file_store.name) is file_store
    future = executor.submit(remote_double, [1])
    executor.shutdown()  # Waits for the task, then closes everything.
    assert future.done() and future.exception() is None
    with pytest.raises(RuntimeError):
        pool.submit(remote_square, 2)
    assert get_store(file_store.name) is None
    assert not os.path.exists(file_store.connector.store_dir)
    with pytest.raises(RuntimeError, match='after shutdown'):
        executor.submit(remote_square, 2)


def test_shutdown_closes_only_its_dask_client(
    dask_cluster: Any,
    dask_client: Any,
    file_store: Store[Any],
) -> None:
    own_client = distributed.Client(dask_cluster)
    executor = StoreExecutor(own_client, file_store, close_store=False)
    assert executor.submit(remote_square, 5).result() == 25
    executor.shutdown()
    assert own_client.status == 'closed'
    assert dask_client.submit(remote_square, 6).result() == 36
    assert os.path.exists(file_store.connector.store_dir)


def test_scoped_submit_to_dask(
    dask_client: Any,
    file_store: Store[Any],
) -> None:
    owned = file_store.owned_proxy([1, 2], populate_target=False)
    future = scoped_submit(
        dask_client.submit,
        args=(remote_type_names, borrow(owned)),
        kwargs={'pure': False},
    )
    assert isinstance(future, FutureWithCallback)
    assert future.result() == ['RefProxy']
    assert wait_until(lambda: is_mutably_borrowable(owned))
    drop(owned)
    assert stored_files(file_store) == []


# --- the Dask map-reduce example ------------------------------------------


@pytest.mark.slow
def test_dask_mapreduce_example_runs() -> None:
    result = run_python(EXAMPLE)
    lines = result.stdout.splitlines()
    assert 'result matches: True' in result.stdout
    assert 'store empty at the end: True' in result.stdout
    data = _numbers(next(x for x in lines if x.startswith('map-reduce')))[1]
    plain = _numbers(next(x for x in lines if x.startswith('plain Dask')))
    store = _numbers(next(x for x in lines if x.startswith('StoreExecutor')))
    # Plain Dask ships the inputs via the scheduler; the store executor
    # ships small proxies and moves inputs and map results via the store.
    assert plain[0] >= data and plain[1] == 0
    assert store[0] < data // 100
    assert store[1] >= 2 * data


def _numbers(line: str) -> list[int]:
    words = line.replace(',', '').split()
    return [int(word) for word in words if word.isdigit()]


class SubmitOnly:
    """An engine with `submit()` but neither `shutdown()` nor `close()`."""

    def __init__(self, pool: ThreadPoolExecutor) -> None:
        self.pool = pool

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        return self.pool.submit(fn, *args, **kwargs)


def test_shutdown_warns_on_an_engine_it_cannot_shut_down(
    file_store: Store[Any],
) -> None:
    with ThreadPoolExecutor(1) as pool:
        engine = SubmitOnly(pool)
        executor = StoreExecutor(engine, file_store, close_store=False)
        assert executor.submit(sum, [1, 2]).result() == 3
        with pytest.warns(
            RuntimeWarning,
            match=(
                '^Cannot shutdown SubmitOnly because it is not a subclass of '
                'Executor nor does it have a close'
            ),
        ):
            executor.shutdown()
    assert not file_store.closed
