"""Deprecated old relay command (`python -m proxystore.endpoint.relay.cli`).

`proxystore-relay` now runs `proxystore.p2p.relay.run:cli`.
"""

from __future__ import annotations

import asyncio
import logging

import click

from proxystore.endpoint.relay.server import run_relay


@click.command()
@click.option('--host', default='127.0.0.1', show_default=True)
@click.option('--port', type=click.IntRange(1, 65535), default=8700)
@click.option(
    '--log-level',
    type=click.Choice(['DEBUG', 'INFO', 'WARNING', 'ERROR']),
    default='INFO',
    show_default=True,
)
def cli(host: str, port: int, log_level: str) -> None:
    """Run a relay server that ProxyStore endpoints register with."""
    logging.basicConfig(
        level=log_level,
        format='[%(asctime)s] %(levelname)s %(name)s: %(message)s',
    )
    try:
        asyncio.run(run_relay(host, port))
    except OSError as e:
        raise click.ClickException(
            f'Cannot serve the relay on {host}:{port}: {e}',
        ) from None


if __name__ == '__main__':
    cli()
