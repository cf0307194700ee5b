"""Map-reduce on a Dask cluster, with the bulk data going through a store.

The map step scales NumPy chunks (big inputs, big outputs); the reduce step
combines all scaled chunks into a few statistics. The same computation runs
twice on a local Dask cluster with worker processes:

1. plain Dask: the chunks travel inside the tasks, through the scheduler;
2. a `StoreExecutor` wrapping the Dask client: arrays are put in a
   file-backed store and only small proxies travel through the scheduler.
   With ownership (the default) each array is evicted as soon as the task
   using it is done and its owner is gone.

It prints the bytes each mode pushed through the scheduler and the store.

Run with: python examples/dask_mapreduce.py
"""

from __future__ import annotations

import math
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import cloudpickle
import numpy as np
from distributed import Client
from distributed import LocalCluster

from proxystore.connectors.file import FileConnector
from proxystore.store import Store
from proxystore.store.executor import ProxyType
from proxystore.store.executor import StoreExecutor
from proxystore.store.utils import get_key

CHUNKS = 8
CHUNK_ELEMENTS = 512 * 1024  # 4 MiB of float64 per chunk.


def scale(chunk: np.ndarray, factor: float) -> np.ndarray:
    """Map: runs on a worker; returns an array as big as its input."""
    return chunk * factor


def statistics(*chunks: np.ndarray) -> tuple[float, float, int]:
    """Reduce: runs on a worker; sum, sum of squares and count."""
    total = sum(float(c.sum()) for c in chunks)
    squares = sum(float(np.dot(c, c)) for c in chunks)
    return total, squares, sum(c.size for c in chunks)


class CountingSubmitter:
    """Executor-like wrapper of a Dask client that measures task sizes.

    Counts the pickled size of every submitted task (function and
    arguments): the bytes that go through the Dask scheduler.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self.bytes_sent = 0

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Count the task's size, then submit it to Dask."""
        self.bytes_sent += len(cloudpickle.dumps((fn, args, kwargs)))
        return self.client.submit(fn, *args, pure=False, **kwargs)


class CountingStore(Store[Any]):
    """Store that adds up the bytes this process writes (from its metrics)."""

    bytes_put = 0

    def put(self, obj: Any, **kwargs: Any) -> Any:
        """Put as usual and record the serialized size."""
        key = super().put(obj, **kwargs)
        assert self.metrics is not None
        metrics = self.metrics.get_metrics(key)
        assert metrics is not None
        self.bytes_put += metrics.attributes['store.put.object_size']
        return key


def run_plain(client: Client, chunks: list[np.ndarray]) -> tuple[Any, int]:
    """Map-reduce with plain Dask: data inside the tasks."""
    submitter = CountingSubmitter(client)
    scaled = [submitter.submit(scale, chunk, 2.0) for chunk in chunks]
    result = submitter.submit(statistics, *scaled).result()
    return result, submitter.bytes_sent


def run_with_store(
    client: Client,
    chunks: list[np.ndarray],
    store_dir: str,
) -> tuple[Any, int, int, bool]:
    """Map-reduce through a StoreExecutor: data through the store."""
    submitter = CountingSubmitter(client)
    store = CountingStore('mapreduce', FileConnector(store_dir), metrics=True)
    executor = StoreExecutor(submitter, store, ProxyType(np.ndarray))
    # Each map result comes back as an OwnedProxy (the data stays put).
    futures = [executor.submit(scale, chunk, 2.0) for chunk in chunks]
    scaled = [future.result() for future in futures]
    del futures
    # The workers wrote the map results: measure them in the store.
    results_bytes = sum(
        os.path.getsize(os.path.join(store_dir, get_key(p).filename))
        for p in scaled
    )
    # The reduce task borrows every scaled chunk.
    result = executor.submit(statistics, *scaled).result()
    del scaled  # Dropping the owners evicts the map results.
    empty = _wait_empty(store)
    executor.shutdown()  # Closes the store (and removes its directory).
    stored = store.bytes_put + results_bytes
    return result, submitter.bytes_sent, stored, empty


def _wait_empty(store: Store[Any], timeout: float = 30) -> bool:
    """Owners of the inputs are dropped right after each task completes."""
    deadline = time.monotonic() + timeout
    while os.listdir(store.connector.store_dir):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def main() -> None:
    """Run both modes and print what went where."""
    rng = np.random.default_rng(0)
    chunks = [rng.random(CHUNK_ELEMENTS) for _ in range(CHUNKS)]
    data_bytes = sum(c.nbytes for c in chunks)
    with (
        LocalCluster(
            processes=True,
            n_workers=2,
            threads_per_worker=1,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        print(
            f'map-reduce over {CHUNKS} chunks, {data_bytes:,} bytes of '
            f'input, on {len(cluster.workers)} Dask worker processes',
        )
        start = time.perf_counter()
        plain, plain_sent = run_plain(client, chunks)
        plain_time = time.perf_counter() - start
        print(
            f'plain Dask:    {plain_sent:>12,} bytes through the scheduler, '
            f'{0:>12,} bytes through the store ({plain_time:.2f} s)',
        )
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            stored, sent, put, empty = run_with_store(
                client,
                chunks,
                f'{tmp}/store',
            )
            store_time = time.perf_counter() - start
        print(
            f'StoreExecutor: {sent:>12,} bytes through the scheduler, '
            f'{put:>12,} bytes through the store ({store_time:.2f} s)',
        )
    same = all(math.isclose(a, b) for a, b in zip(plain, stored, strict=True))
    total, squares, count = stored
    mean = total / count
    print(
        f'result matches: {same} (mean={mean:.6f}, '
        f'variance={squares / count - mean**2:.6f}, n={count:,})',
    )
    print(f'store empty at the end: {empty}')
    if not (same and empty):
        raise SystemExit(1)


if __name__ == '__main__':
    main()
