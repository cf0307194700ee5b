"""Store and raw-medium benchmarks (issue 2).

Rows:
- 64 MiB float64 array put+get through `Store(LocalConnector)` against one
  `memcpy` (`ndarray.copy()`), and through `Store(FileConnector)` against a
  raw write+read of the same bytes in the same directory.
- 1 KiB objects put+get+evict: ops/s (each put, get and evict is one op;
  cycles/s in the detail) for the Store, the connector with serialization
  and the raw medium, and the Store's overhead per op.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from typing import Any

import numpy as np

from benchmarks.common import Case
from benchmarks.common import Row
from benchmarks.common import StorePutGet
from benchmarks.common import interleaved_best
from benchmarks.common import ratio_row
from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.serialize import deserialize
from proxystore.serialize import serialize
from proxystore.serialize.buffers import allocate
from proxystore.store import Store

SECTION = 'store'
ARRAY_BYTES = 64 << 20
SMALL_BYTES = 1024
OPS_PER_CYCLE = 3
"""put, get and evict: each counts as one operation, as in the endpoint
section's requests/s."""


class _Memcpy:
    """One `ndarray.copy()`: the memcpy baseline."""

    def __init__(self, array: Any) -> None:
        self._array = array

    def __call__(self) -> None:
        self._array.copy()

    def reset(self) -> None:
        pass


class _RawFile:
    """The physical limit: a plain write of one file, then a read of it.

    The read goes with `readinto` into a buffer from
    `proxystore.serialize.buffers.allocate`, the fastest way to read a file
    into memory from Python (a plain `f.read()` pays for page faults on a
    fresh `bytes` object and would flatter the ratio).
    """

    def __init__(self, directory: str, data: Any) -> None:
        self._path = os.path.join(directory, 'raw-baseline')
        self._data = data

    def __call__(self) -> None:
        with open(self._path, 'wb') as f:
            f.write(self._data)
        with open(self._path, 'rb', buffering=0) as f:
            f.readinto(allocate(os.fstat(f.fileno()).st_size))

    def reset(self) -> None:
        try:
            os.remove(self._path)
        except FileNotFoundError:
            pass


def _large_rows(directory: str, repeat: int) -> list[Row]:
    array = np.random.default_rng(0).random(ARRAY_BYTES // 8)
    data = array.data.cast('B')
    local = LocalConnector()
    files = FileConnector(os.path.join(directory, 'connector'))
    candidates: list[tuple[str, Any, Case]] = []
    connectors: list[tuple[str, Any]] = [('Local', local), ('File', files)]
    for label, connector in connectors:
        store = Store(f'bench-{label}', connector)
        trip = StorePutGet(store, array)
        candidates.append((f'Store({label}Connector)', connector, trip))
    baselines: list[Case] = [_Memcpy(array), _RawFile(directory, data)]
    times = interleaved_best(
        baselines + [case for _, _, case in candidates],
        repeat,
    )
    memcpy, raw_file = times[:2]
    files.close()

    rows = []
    for (label, connector, _), measured in zip(
        candidates,
        times[2:],
        strict=True,
    ):
        name = f'{label} put+get 64 MiB array'
        if connector is local:
            rows.append(
                ratio_row(SECTION, name, measured, memcpy, 3.0, 'memcpy'),
            )
            continue
        rows.append(
            ratio_row(
                SECTION,
                name,
                measured,
                raw_file,
                1.3,
                'raw write+read',
            ),
        )
    return rows


class _Repeated:
    """`count` calls of one put+get+evict cycle, as one timed case."""

    def __init__(self, op: Callable[[], None], count: int) -> None:
        self._op, self._count = op, count

    def __call__(self) -> None:
        for _ in range(self._count):
            self._op()

    def reset(self) -> None:
        pass


def _small_rows(directory: str, count: int, repeat: int) -> list[Row]:
    obj = os.urandom(SMALL_BYTES)
    raw_dict: dict[int, bytes] = {}
    file_dir = os.path.join(directory, 'small')
    os.makedirs(file_dir, exist_ok=True)
    counter = iter(range(1 << 62))

    def raw_dict_op() -> None:
        key = next(counter)
        raw_dict[key] = obj
        raw_dict.get(key)
        del raw_dict[key]

    def raw_file_op() -> None:
        path = os.path.join(file_dir, str(next(counter)))
        with open(path, 'wb') as f:
            f.write(obj)
        with open(path, 'rb') as f:
            f.read()
        os.remove(path)

    def cycle(put: Any, get: Any, evict: Any) -> Callable[[], None]:
        def op() -> None:
            key = put(obj)
            get(key)
            evict(key)

        return op

    local = LocalConnector()
    files = FileConnector(os.path.join(directory, 'small-connector'))
    # (label, raw medium op, connector op, store op)
    media = []
    by_medium: list[tuple[str, Any, Callable[[], None]]] = [
        ('Local', local, raw_dict_op),
        ('File', files, raw_file_op),
    ]
    for label, connector, raw_op in by_medium:
        via_connector = cycle(
            lambda o, c=connector: c.put(serialize(o)),
            lambda k, c=connector: deserialize(c.get(k)),
            connector.evict,
        )
        store = Store(f'bench-small-{label}', connector)
        via_store = cycle(store.put, store.get, store.evict)
        media.append((label, raw_op, via_connector, via_store))

    cases: list[Case] = []
    for _, *ops in media:
        cases.extend(_Repeated(op, count) for op in ops)
    seconds = iter(t / count for t in interleaved_best(cases, repeat))
    files.close()

    rows = []
    for label, *_ in media:
        # Seconds per put+get+evict cycle; an op is one of the three calls.
        raw, connector_cycle, store_cycle = (next(seconds) for _ in range(3))
        rows.append(_ops_row(f'raw medium ({label}) 1 KiB', raw))
        rows.append(
            _ops_row(
                f'serialize+{label}Connector 1 KiB',
                connector_cycle,
                f'{_per_op_us(connector_cycle - raw):.1f} us/op over raw',
            ),
        )
        rows.append(
            _ops_row(
                f'Store({label}Connector) 1 KiB',
                store_cycle,
                f'{_per_op_us(store_cycle - raw):.1f} us/op over raw, '
                f'{_per_op_us(store_cycle - connector_cycle):.1f} us/op '
                'over connector',
            ),
        )
    return rows


def _per_op_us(seconds_per_cycle: float) -> float:
    return seconds_per_cycle / OPS_PER_CYCLE * 1e6


def _ops_row(name: str, seconds_per_cycle: float, detail: str = '') -> Row:
    cycles = f'{1 / seconds_per_cycle:,.0f} cycles/s'
    return Row(
        section=SECTION,
        name=f'{name} put+get+evict',
        value=OPS_PER_CYCLE / seconds_per_cycle,
        unit='ops/s',
        detail=f'{cycles}; {detail}' if detail else cycles,
    )


def run(quick: bool) -> list[Row]:
    """Measure the issue-2 store rows."""
    with tempfile.TemporaryDirectory(dir=os.getcwd()) as directory:
        rows = _large_rows(directory, repeat=7 if quick else 15)
        rows += _small_rows(
            directory,
            count=500 if quick else 2000,
            repeat=5 if quick else 10,
        )
    return rows
