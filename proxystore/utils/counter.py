"""A thread-safe counter."""

from __future__ import annotations

import threading


class AtomicCounter:
    """A counter that many threads can increment.

    Example:
        ```python
        >>> counter = AtomicCounter(size=2)
        >>> counter.increment()
        0
        >>> counter.increment()
        1
        ```

    Args:
        size: Number of values the counter hands out (`0` to `size - 1`);
            unbounded if `None`.
    """

    def __init__(self, size: int | None = None) -> None:
        self._size = size
        self._value = 0
        self._lock = threading.Lock()

    def increment(self) -> int:
        """Increment the counter.

        Returns:
            The value before incrementing (the first call returns `0`).

        Raises:
            ValueError: If the counter has handed out `size` values.
        """
        with self._lock:
            if self._size is not None and self._value >= self._size:
                raise ValueError(
                    f'Max counter size exceeded ({self._size}).',
                )
            value = self._value
            self._value += 1
            return value
