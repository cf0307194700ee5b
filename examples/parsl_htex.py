"""Parsl: pass proxies to apps on a local HighThroughputExecutor.

A file-backed Store holds the inputs; the Parsl apps receive small proxies
(Parsl serializes only those), and each worker process fetches an object
from the store the first time the app touches it. One app also sends its
result back as a proxy of the same store, rebuilt in the worker from the
configuration that travels inside the input proxy.

The workers and the interchange are started with this interpreter
(`python -m ...`), so the example also runs when Parsl's console scripts
are not on `PATH`.

Run with: python examples/parsl_htex.py
"""

from __future__ import annotations

import pickle
import sys
import tempfile
from typing import Any

import parsl
from parsl import python_app
from parsl.config import Config
from parsl.executors import HighThroughputExecutor
from parsl.executors.high_throughput.executor import DEFAULT_LAUNCH_CMD
from parsl.providers import LocalProvider

from proxystore.connectors.file import FileConnector
from proxystore.proxy import Proxy
from proxystore.store import Store

HTEX = 'parsl.executors.high_throughput'


def local_htex_config(run_dir: str, workers: int = 2) -> Config:
    """One block of local workers, all on loopback, no console scripts."""
    executor = HighThroughputExecutor(
        label='local-htex',
        address='127.0.0.1',
        max_workers_per_node=workers,
        launch_cmd=DEFAULT_LAUNCH_CMD.replace(
            'process_worker_pool.py',
            f'{sys.executable} -m {HTEX}.process_worker_pool',
            1,
        ),
        interchange_launch_cmd=[sys.executable, '-m', f'{HTEX}.interchange'],
        provider=LocalProvider(init_blocks=1, min_blocks=1, max_blocks=1),
        heartbeat_period=2,
        poll_period=10,
    )
    return Config(executors=[executor], run_dir=run_dir, strategy='none')


@python_app
def summarize(data: Any) -> str:
    """Runs in a worker: the first use of `data` fetches it."""
    received = type(data).__name__  # 'Proxy': only the proxy was sent
    rows = data['rows']
    return f'{received} with {len(rows)} rows, total {sum(rows)}'


@python_app
def scale(data: Any, factor: int) -> dict[str, Any]:
    """Runs in a worker and returns its (large) result as a proxy too.

    The proxy goes back inside a dict: Parsl picks its serializer with
    `callable(result)`, which is true of every proxy, and its serializer
    for functions hashes them (a proxy of a list is not hashable).
    """
    from proxystore.store import get_store

    store = get_store(data)  # rebuilt from the proxy's store config
    assert store is not None
    return {'scaled': store.proxy([factor * x for x in data['rows']])}


def main() -> None:
    """Proxy an object, run two apps on it, and resolve a proxied result."""
    data = {'rows': list(range(100_000))}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store('parsl-example', FileConnector(f'{tmp}/store'))
        with store, parsl.load(local_htex_config(f'{tmp}/runinfo')):
            proxy = store.proxy(data)
            print(
                f'object {len(pickle.dumps(data)):,} B, '
                f'proxy {len(pickle.dumps(proxy)):,} B'
            )
            print('worker got a', summarize(proxy).result())
            scaled = scale(proxy, 3).result()['scaled']
            assert isinstance(scaled, Proxy)
            print(f'result is a {type(scaled).__name__}: sum={sum(scaled)}')
            assert sum(scaled) == 3 * sum(data['rows'])


if __name__ == '__main__':
    main()
