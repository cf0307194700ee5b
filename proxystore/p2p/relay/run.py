"""Run a relay server: `serve()` and the `proxystore-relay` command.

```bash
proxystore-relay                        # ws://localhost:8700, no auth
proxystore-relay --config relay.toml    # TLS, Globus auth, log files
```
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import logging.handlers
import os
import signal
import ssl
import stat
import sys
from typing import Any

import click

from proxystore.p2p.relay import warn_missing_dependency
from proxystore.p2p.relay.authenticate import get_authenticator
from proxystore.p2p.relay.config import RelayServingConfig
from proxystore.p2p.relay.config import bind_host
from proxystore.p2p.relay.config import is_loopback
from proxystore.p2p.relay.server import RelayServer

try:
    import websockets.asyncio.server
except ImportError as e:  # pragma: no cover - depends on extras
    warn_missing_dependency(e)

logger = logging.getLogger(__name__)

LOG_FORMAT = (
    '[%(asctime)s.%(msecs)03d] %(levelname)-5s (%(name)s) :: %(message)s'
)
"""Format of relay log lines."""

LOG_DATE_FORMAT = '%Y-%m-%d %H:%M:%S'
"""Date format of relay log lines."""

LOG_FILE = 'server.log'
"""Name of the log file inside `log_dir`."""


def _describe(server: RelayServer[Any]) -> list[str]:
    stats = server.stats()
    lines = []
    for client in server.client_manager.get_clients():
        s = stats.get(client.uuid)
        forwarded = (
            ''
            if s is None
            else (
                f' forwarded={s.messages_forwarded} msgs/'
                f'{s.bytes_forwarded} B, peer_data={s.peer_data_messages} '
                f'msgs/{s.peer_data_bytes} B, errors={s.errors_returned}'
            )
        )
        lines.append(f'{client!r}{forwarded}')
    return lines


def periodic_client_logger(
    server: RelayServer[Any],
    interval: float = 60,
    limit: float | None = 60,
    level: int = logging.INFO,
) -> asyncio.Task[None]:
    """Start a task that logs the connected clients every `interval` s.

    Each time it logs `Connected clients: N` and, when `0 < N < limit`
    (or `limit` is None), one line per client with its forwarding
    counters. Cancel the task to stop it.
    """

    async def _log() -> None:
        while True:
            await asyncio.sleep(interval)
            clients = _describe(server)
            logger.log(level, 'Connected clients: %d', len(clients))
            if clients and (limit is None or len(clients) < limit):
                for line in clients:
                    logger.log(level, line)

    return asyncio.create_task(_log(), name='relay-client-logger')


def _ssl_context(config: RelayServingConfig) -> ssl.SSLContext | None:
    if config.certfile is None:
        return None
    if config.keyfile is not None:
        mode = os.stat(config.keyfile).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            logger.warning(
                'TLS key file %s is readable by other users (mode %o); '
                'chmod 600 it.',
                config.keyfile,
                stat.S_IMODE(mode),
            )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(config.certfile, config.keyfile)
    return context


def _warn_exposure(config: RelayServingConfig, host: str | None) -> None:
    public = host is None or not is_loopback(host)
    if not public:
        return
    if config.auth.method is None:
        logger.warning(
            'Serving the relay on %s WITHOUT authentication: anyone who '
            'can reach it can register and signal endpoints.',
            host or 'every interface',
        )
    if config.certfile is None:
        logger.warning(
            'Serving the relay on %s without TLS: tokens and messages '
            'travel in clear text. Set certfile and keyfile.',
            host or 'every interface',
        )


async def serve(config: RelayServingConfig) -> None:
    """Serve a relay until SIGINT or SIGTERM (no logging setup).

    Raises:
        ValueError: If the config would serve a non-loopback interface
            without authentication and does not allow it, or names an
            unknown authentication method.
        OSError: If the address cannot be bound or the TLS files cannot
            be read.
    """
    host = bind_host(config)
    authenticator = get_authenticator(config.auth)
    server = RelayServer(
        authenticator,
        max_message_bytes=config.max_message_bytes,
        peer_data=config.peer_data,
    )
    context = _ssl_context(config)
    _warn_exposure(config, host)

    loop = asyncio.get_running_loop()
    stop: asyncio.Future[None] = loop.create_future()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set_result, None)

    interval = config.logging.current_client_interval
    client_logger = (
        None
        if interval is None
        else periodic_client_logger(
            server,
            interval,
            config.logging.current_client_limit,
        )
    )
    try:
        async with websockets.asyncio.server.serve(
            server.handler,
            host,
            config.port,
            logger=None,
            ssl=context,
            # Relayed peer data is serialized, mostly incompressible bytes:
            # deflate would cost the relay ~10x more CPU per byte for little
            # gain. Clients negotiate it away transparently.
            compression=None,
        ) as ws_server:
            ports = sorted(
                {sock.getsockname()[1] for sock in ws_server.sockets},
            )
            for port in ports:
                logger.info('Relay server listening on port %d', port)
            logger.info(
                'Relay server serving %s://%s (auth: %s)',
                'wss' if context is not None else 'ws',
                host or '*',
                config.auth.method or 'none',
            )
            await stop
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        if client_logger is not None:
            client_logger.cancel()
    logger.info('Relay server stopped')


def _configure_logging(config: RelayServingConfig) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stdout)]
    log_dir = config.logging.log_dir
    if log_dir is not None:
        os.makedirs(log_dir, exist_ok=True)
        handlers.append(
            logging.handlers.TimedRotatingFileHandler(
                os.path.join(log_dir, LOG_FILE),
                when='W6',
                atTime=datetime.time(0, 0, 0),
            ),
        )
    logging.basicConfig(
        format=LOG_FORMAT,
        datefmt=LOG_DATE_FORMAT,
        level=config.logging.default_level,
        handlers=handlers,
        force=True,
    )
    logging.getLogger('websockets').setLevel(
        config.logging.websockets_level,
    )


@click.command()
@click.option(
    '-c',
    '--config',
    'config_file',
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help='Relay config TOML file.',
)
@click.option('--host', default=None, help='Address to bind.')
@click.option(
    '--port',
    type=click.IntRange(0, 65535),
    default=None,
    help='Port to bind (default: 8700; 0 picks a free one).',
)
@click.option('--log-dir', default=None, help='Folder for server.log.')
@click.option(
    '--log-level',
    type=click.Choice(
        ['CRITICAL', 'ERROR', 'WARNING', 'INFO', 'DEBUG'],
        case_sensitive=False,
    ),
    default=None,
    help='Minimum level of logged messages (default: INFO).',
)
@click.option(
    '--allow-public-without-auth',
    is_flag=True,
    default=False,
    help='Allow a non-loopback --host without authentication.',
)
def cli(
    config_file: str | None,
    host: str | None,
    port: int | None,
    log_dir: str | None,
    log_level: str | None,
    allow_public_without_auth: bool,
) -> None:
    """Run a ProxyStore relay server that endpoints register with."""
    try:
        config = (
            RelayServingConfig()
            if config_file is None
            else RelayServingConfig.from_toml(config_file)
        )
    except ValueError as e:
        raise click.ClickException(str(e)) from None
    updates: dict[str, Any] = {}
    if host is not None:
        updates['host'] = host
    if port is not None:
        updates['port'] = port
    if allow_public_without_auth:
        updates['allow_public_without_auth'] = True
    logging_updates: dict[str, Any] = {}
    if log_dir is not None:
        logging_updates['log_dir'] = log_dir
    if log_level is not None:
        logging_updates['default_level'] = log_level.upper()
    if logging_updates:
        updates['logging'] = config.logging.model_copy(update=logging_updates)
    config = config.model_copy(update=updates)

    _configure_logging(config)
    try:
        # `serve` is looked up at call time, so it can be patched.
        asyncio.run(serve(config))
    except (OSError, ValueError) as e:
        raise click.ClickException(
            f'Cannot serve the relay on {config.host or "localhost"}:'
            f'{config.port}: {e}',
        ) from None


if __name__ == '__main__':  # pragma: no cover
    cli()
