"""Running an aiohttp application until it is told to stop."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiohttp import web

logger = logging.getLogger(__name__)


async def wait_for_stop(stop: asyncio.Event | None) -> None:
    """Wait until `stop` is set, or for SIGINT/SIGTERM without one."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    await stop.wait()


async def run_app(
    app: web.Application,
    host: str | None,
    port: int,
    stop: asyncio.Event | None = None,
    *,
    shutdown_timeout: float = 60.0,
) -> None:
    """Serve `app` on `host:port` until `stop` is set.

    Without a `stop` event, SIGINT and SIGTERM stop the server. Access
    logging is off: a log line per request costs a large share of
    small-request throughput. On the way out the app's cleanup hooks run.

    Args:
        app: The application to serve.
        host: Address to listen on (`None` = all interfaces).
        port: TCP port to listen on.
        stop: Event that stops the server when set.
        shutdown_timeout: Seconds to let open requests finish on stop.

    Raises:
        OSError: If the address cannot be bound (e.g. port in use).
    """
    from aiohttp import web

    runner = web.AppRunner(
        app,
        access_log=None,
        handle_signals=False,
        shutdown_timeout=shutdown_timeout,
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        logger.info('Serving at %s:%d', host or '*', port)
        await wait_for_stop(stop)
        logger.info('Shutting down')
    finally:
        await runner.cleanup()
