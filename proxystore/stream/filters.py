"""Filters that drop stream objects by their metadata.

A filter is any callable taking an object's metadata dictionary and
returning `True` to **drop** the object (filter it out) or `False` to keep
it (see [`Filter`][proxystore.stream.protocols.Filter]). Producers apply
their filter in `send()` (a dropped object is never stored or published);
consumers apply theirs to each received event (a dropped object is skipped
and, if its event asks for eviction, evicted).
"""

from __future__ import annotations

import random
from typing import Any

from proxystore.stream.protocols import Filter

__all__ = ['Filter', 'NullFilter', 'SamplingFilter']


class NullFilter:
    """Filter that keeps every object."""

    def __call__(self, metadata: dict[str, Any]) -> bool:
        """Return `False`: never drop."""
        return False


class SamplingFilter:
    """Filter that drops each object at random with probability `p`.

    It draws from the global [`random`][random] module (so `random.seed()`
    makes it reproducible) unless given its own `seed`.

    Args:
        p: Probability of dropping an object, in `[0, 1]`.
        seed: Seed of a random generator of the filter's own (`None`: use
            the global `random` module).

    Raises:
        ValueError: If `p` is not in `[0, 1]`.
    """

    def __init__(self, p: float, *, seed: int | None = None) -> None:
        if not 0 <= p <= 1:
            raise ValueError(
                f'SamplingFilter probability p must be in [0, 1], got {p}.',
            )
        self.p = p
        self._random = random.Random(seed) if seed is not None else None

    def __repr__(self) -> str:
        return f'{type(self).__name__}(p={self.p})'

    def __call__(self, metadata: dict[str, Any]) -> bool:
        """Return `True` (drop) when a random draw is at most `p`."""
        draw = (self._random or random).random()
        return draw <= self.p
