"""Rate limiting of relayed peer data."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from collections.abc import Callable


class TokenBucket:
    """A token bucket: `rate` bytes per second with bursts of `burst`.

    Args:
        rate: Tokens (bytes) added per second.
        burst: Most tokens the bucket holds.
        clock: Monotonic clock in seconds.
        sleep: Coroutine function that waits some seconds.
    """

    def __init__(
        self,
        rate: float,
        burst: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError('rate and burst must be greater than zero.')
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = burst
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(
            self.burst,
            self._tokens + (now - self._updated) * self.rate,
        )
        self._updated = now

    def delay(self, amount: float) -> float:
        """Take `amount` tokens; return the seconds to wait before using them.

        The bucket may go into debt by `amount` (so requests larger than
        `burst` still pass, after a proportionally longer wait).
        """
        self._refill()
        self._tokens -= amount
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    async def acquire(self, amount: float) -> None:
        """Take `amount` tokens, waiting until the rate allows it."""
        wait = self.delay(amount)
        if wait > 0:
            await self._sleep(wait)
