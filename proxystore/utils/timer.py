"""A small wall-clock timer."""

from __future__ import annotations

import time
from types import TracebackType

from typing_extensions import Self


class Timer:
    """Measure the wall-clock time of a block of code.

    The elapsed time can be read once the timer is stopped; reading it
    while the timer runs raises `RuntimeError`.

    Example:
        ```python
        with Timer() as timer:
            work()
        print(timer.elapsed_ms)

        timer = Timer().start()
        work()
        print(timer.stop().elapsed_s)
        ```
    """

    def __init__(self) -> None:
        self._start_ns = 0
        self._end_ns = 0
        self._running = False

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Self:
        """Start (or restart) the timer.

        Returns:
            The timer itself, so `timer = Timer().start()` works.
        """
        self._running = True
        self._start_ns = time.perf_counter_ns()
        return self

    def stop(self) -> Self:
        """Stop the timer.

        Returns:
            The timer itself.
        """
        self._end_ns = time.perf_counter_ns()
        self._running = False
        return self

    @property
    def elapsed_ns(self) -> int:
        """Elapsed nanoseconds between `start()` and `stop()`.

        Raises:
            RuntimeError: If the timer is still running.
        """
        if self._running:
            raise RuntimeError('Timer is still running!')
        return self._end_ns - self._start_ns

    @property
    def elapsed_ms(self) -> float:
        """Elapsed milliseconds (see `elapsed_ns`)."""
        return self.elapsed_ns / 1e6

    @property
    def elapsed_s(self) -> float:
        """Elapsed seconds (see `elapsed_ns`)."""
        return self.elapsed_ns / 1e9
