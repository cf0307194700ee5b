"""Shared helpers for the benchmark sections.

Every section module in this folder exposes ``run(quick: bool) -> list[Row]``.
A row states an issue target as a ratio against a physical limit measured in
the same run (a memcpy, a raw file write+read, a raw redis-py SET+GET), so
the table stays meaningful on a noisy, shared machine.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any
from typing import Protocol


@dataclasses.dataclass
class Row:
    """One line of the benchmark table.

    Attributes:
        section: Which area the row belongs to (e.g. ``proxy``).
        name: What was measured.
        value: The measured figure (a ratio, a size, ops/s, ...).
        unit: Unit of ``value`` (``x`` for a ratio against the baseline).
        target: Human-readable target from the issue (``'<= 1.5x'``), or ``''``
            for rows that only report.
        ok: Whether the target is met (``None`` for report-only rows).
        detail: Free-form extra information (absolute times, baseline).
    """

    section: str
    name: str
    value: float
    unit: str
    target: str = ''
    ok: bool | None = None
    detail: str = ''


def best_time(
    fn: Callable[[], object],
    *,
    repeat: int = 5,
    number: int = 1,
    setup: Callable[[], object] | None = None,
) -> float:
    """Return the best (minimum) seconds per call of ``fn`` over ``repeat``.

    The minimum is the least noisy estimate of the true cost on a shared
    machine. ``setup`` runs before each repetition and is not timed.
    """
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return min(times)


def ratio_row(
    section: str,
    name: str,
    measured: float,
    baseline: float,
    limit: float,
    baseline_name: str,
) -> Row:
    """Build a row comparing ``measured`` seconds to ``baseline`` seconds."""
    ratio = measured / baseline
    return Row(
        section=section,
        name=name,
        value=ratio,
        unit='x',
        target=f'<= {limit:g}x {baseline_name}',
        ok=ratio <= limit,
        detail=f'{measured * 1e3:.3f} ms vs {baseline * 1e3:.3f} ms',
    )


class Case(Protocol):
    """One timed operation; `reset` runs untimed before each call."""

    def __call__(self) -> None: ...

    def reset(self) -> None: ...


class StorePutGet:
    """put+get of one object through a Store; `reset` evicts what it put."""

    def __init__(self, store: Any, obj: Any) -> None:
        self._store, self._obj = store, obj
        self._keys: list[Any] = []

    def __call__(self) -> None:
        key = self._store.put(self._obj)
        self._keys.append(key)
        self._store.get(key)

    def reset(self) -> None:
        for key in self._keys:
            self._store.evict(key)
        self._keys.clear()


def interleaved_best(cases: list[Case], repeat: int) -> list[float]:
    """Best seconds per case, running the cases in turn every round.

    Alternating keeps baselines and candidates under the same background
    load on a shared machine; `reset` runs untimed before each call.
    """
    best = [float('inf')] * len(cases)
    try:
        for _ in range(repeat):
            for index, case in enumerate(cases):
                case.reset()
                start = time.perf_counter()
                case()
                best[index] = min(best[index], time.perf_counter() - start)
    finally:
        for case in cases:
            case.reset()
    return best
