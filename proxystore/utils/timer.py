"""A small wall-clock timer."""

from __future__ import annotations

import time
from types import TracebackType


class Timer:
    """Measure the wall-clock time of a block of code.

    Example:
        ```python
        with Timer() as timer:
            work()
        print(timer.elapsed_ms)
        ```
    """

    def __init__(self) -> None:
        self._start_ns = 0
        self._end_ns: int | None = None

    def __enter__(self) -> Timer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start (or restart) the timer."""
        self._end_ns = None
        self._start_ns = time.perf_counter_ns()

    def stop(self) -> None:
        """Stop the timer."""
        self._end_ns = time.perf_counter_ns()

    @property
    def elapsed_ns(self) -> int:
        """Elapsed nanoseconds (up to now if the timer is still running)."""
        end = time.perf_counter_ns() if self._end_ns is None else self._end_ns
        return end - self._start_ns

    @property
    def elapsed_ms(self) -> float:
        """Elapsed milliseconds."""
        return self.elapsed_ns / 1e6

    @property
    def elapsed_s(self) -> float:
        """Elapsed seconds."""
        return self.elapsed_ns / 1e9
