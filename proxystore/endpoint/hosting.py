"""Waiting for the signal that stops a server."""

from __future__ import annotations

import asyncio
import signal


async def wait_for_stop(stop: asyncio.Event | None) -> None:
    """Wait until `stop` is set, or for SIGINT/SIGTERM without one."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()
