"""Quick start: pass big objects to worker processes as tiny proxies.

A dict and a 100 MB NumPy array go into a file-backed Store; only small
proxies travel to spawned worker processes, which fetch and deserialize the
objects just in time when they first touch them.

Run with: python examples/quickstart.py
"""

from __future__ import annotations

import multiprocessing
import pickle
import tempfile
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from proxystore.connectors.file import FileConnector
from proxystore.store import Store


def describe(obj: Any) -> str:
    """Runs in a worker: the first real use reads the object from files."""
    received = type(obj).__name__  # 'Proxy': only the proxy was sent
    if isinstance(obj, np.ndarray):
        summary = f'array shape={obj.shape} sum={float(obj.sum()):.1f}'
    else:
        summary = f'dict keys={sorted(obj)}'
    return f'{received} of {summary}'


def main() -> None:
    """Proxy a dict and an array and resolve them in spawned workers."""
    config = {'model': 'resnet', 'epochs': 10, 'lr': 0.01}
    array = np.ones((100 * 1024 * 1024) // 8, dtype=np.float64)

    with tempfile.TemporaryDirectory() as tmp:
        with Store('quickstart', FileConnector(f'{tmp}/store')) as store:
            proxies = [store.proxy(config), store.proxy(array)]

            print(f'{"object":<8}{"object size":>16}{"proxy size":>14}')
            for name, obj, proxy in zip(
                ('dict', 'array'), (config, array), proxies, strict=True
            ):
                size = len(pickle.dumps(obj, protocol=5))
                print(
                    f'{name:<8}{size:>14,} B{len(pickle.dumps(proxy)):>12,} B'
                )

            spawn = multiprocessing.get_context('spawn')
            with ProcessPoolExecutor(2, mp_context=spawn) as pool:
                for result in pool.map(describe, proxies):
                    print('worker got a', result)


if __name__ == '__main__':
    main()
