"""Poll briefly before blocking, on both ends of an endpoint connection.

A process that blocks on a socket lets its CPU go idle, and waking an idle
CPU is slow on virtual machines: on a 2-vCPU VM the two wake-ups of each
loopback request (the server's, then the client's) cost more than the
request itself. Both ends therefore keep polling for up to `POLL_SECONDS`
before they block, giving the CPU to any other runnable thread between
checks, so a busy machine loses little: the client when it sends a
request (`wait_readable`), the endpoint's event loop whenever it runs out
of work (`PollingSelector`). On the 2-vCPU VM this made one client's
put+get+evict cycles about 3x faster.
"""

from __future__ import annotations

import asyncio
import os
import selectors
import socket
import time

POLL_SECONDS = 100e-6
"""How long to poll before blocking: a few loopback round trips."""

_PEEK_NOW = socket.MSG_PEEK | getattr(socket, 'MSG_DONTWAIT', 0)
_CAN_YIELD = hasattr(os, 'sched_yield')
_CAN_PEEK = _CAN_YIELD and hasattr(socket, 'MSG_DONTWAIT')


def wait_readable(sock: socket.socket, seconds: float = POLL_SECONDS) -> None:
    """Poll a blocking socket until it has data, for at most `seconds`.

    Returns early on data, end of stream or an error, and leaves those to
    the read that follows. A no-op where non-blocking peeks are unsupported.
    Not for TLS sockets or sockets with a timeout (their `recv` waits).
    """
    if not _CAN_PEEK:
        return
    deadline = time.perf_counter() + seconds
    while True:
        try:
            sock.recv(1, _PEEK_NOW)
        except BlockingIOError:
            pass
        except OSError:
            return
        else:
            return
        if time.perf_counter() >= deadline:
            return
        os.sched_yield()


class PollingSelector(selectors.DefaultSelector):
    """The default selector, polling for `POLL_SECONDS` before it blocks."""

    def select(
        self,
        timeout: float | None = None,
    ) -> list[tuple[selectors.SelectorKey, int]]:
        """Wait for events as the default selector does, polling first."""
        if not _CAN_YIELD or (timeout is not None and timeout <= 0):
            return super().select(timeout)
        start = time.perf_counter()
        poll = POLL_SECONDS if timeout is None else min(POLL_SECONDS, timeout)
        while time.perf_counter() - start < poll:
            ready = super().select(0)
            if ready:
                return ready
            os.sched_yield()
        if timeout is not None:
            timeout = max(0.0, timeout - (time.perf_counter() - start))
        return super().select(timeout)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """Create an asyncio event loop that polls before blocking."""
    return asyncio.SelectorEventLoop(PollingSelector())
