"""The `proxystore-endpoint` command line interface.

```bash
proxystore-endpoint configure my-endpoint --port 8765
proxystore-endpoint start my-endpoint --detach
proxystore-endpoint list
proxystore-endpoint test my-endpoint set greeting hello
proxystore-endpoint stop my-endpoint
proxystore-endpoint remove my-endpoint
```
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any
from typing import TypeVar

import click

import proxystore
from proxystore.endpoint import client
from proxystore.endpoint.commands import EndpointCommandError
from proxystore.endpoint.commands import configure_endpoint
from proxystore.endpoint.commands import list_endpoints
from proxystore.endpoint.commands import load_config
from proxystore.endpoint.commands import remove_endpoint
from proxystore.endpoint.commands import start_endpoint
from proxystore.endpoint.commands import stop_endpoint
from proxystore.endpoint.exceptions import EndpointError
from proxystore.endpoint.storage import DEFAULT_MAX_OBJECT_SIZE

F = TypeVar('F', bound=Callable[..., Any])

LOG_LEVELS = click.Choice(
    ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'],
    case_sensitive=False,
)


def _clear_errors(function: F) -> F:
    """Turn command and endpoint errors into clean CLI error messages."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except (EndpointCommandError, EndpointError) as e:
            raise click.ClickException(str(e)) from None

    return wrapper  # type: ignore[return-value]


@click.group()
@click.option(
    '--proxystore-dir',
    type=click.Path(file_okay=False),
    default=None,
    help='Folder holding endpoint configs (default: ProxyStore home).',
)
@click.pass_context
def cli(ctx: click.Context, proxystore_dir: str | None) -> None:
    """Manage ProxyStore endpoints."""
    ctx.obj = proxystore_dir


@cli.command()
@click.argument('name')
@click.option('--port', type=int, default=8765, show_default=True)
@click.option('--host', default=None, help='Address to listen on.')
@click.option(
    '--host-type',
    type=click.Choice(['ip', 'fqdn', 'hostname']),
    default='ip',
    show_default=True,
    help='Without --host, how peers reach this endpoint.',
)
@click.option('--relay-address', default=None, help='Relay for peering.')
@click.option(
    '--persist/--no-persist',
    default=False,
    help='Keep blobs in SQLite so they survive restarts.',
)
@click.option(
    '--max-object-size',
    type=int,
    default=DEFAULT_MAX_OBJECT_SIZE,
    show_default=True,
    help='Largest blob in bytes.',
)
@click.option('--token', default=None, help='Require this bearer token.')
@click.pass_obj
@_clear_errors
def configure(
    proxystore_dir: str | None,
    name: str,
    port: int,
    host: str | None,
    host_type: str,
    relay_address: str | None,
    persist: bool,
    max_object_size: int,
    token: str | None,
) -> None:
    """Configure a new endpoint called NAME."""
    config = configure_endpoint(
        name,
        port=port,
        host=host,
        host_type=host_type,
        relay_address=relay_address,
        persist=persist,
        max_object_size=max_object_size,
        token=token,
        proxystore_dir=proxystore_dir,
    )
    click.echo(f'Configured endpoint {config.name} ({config.uuid}).')
    click.echo(f'Start it with: proxystore-endpoint start {config.name}')


@cli.command()
@click.argument('name')
@click.option('--detach', is_flag=True, help='Run in the background.')
@click.option('--log-level', type=LOG_LEVELS, default='INFO')
@click.pass_obj
@_clear_errors
def start(
    proxystore_dir: str | None,
    name: str,
    detach: bool,
    log_level: str,
) -> None:
    """Start endpoint NAME."""
    start_endpoint(
        name,
        detach=detach,
        proxystore_dir=proxystore_dir,
        log_level=log_level.upper(),
    )
    if detach:
        click.echo(f'Started endpoint {name}.')


@cli.command()
@click.argument('name')
@click.pass_obj
@_clear_errors
def stop(proxystore_dir: str | None, name: str) -> None:
    """Stop endpoint NAME."""
    if stop_endpoint(name, proxystore_dir=proxystore_dir):
        click.echo(f'Stopped endpoint {name}.')
    else:
        click.echo(f'Endpoint {name} is not running.')


@cli.command(name='list')
@click.pass_obj
@_clear_errors
def list_command(proxystore_dir: str | None) -> None:
    """List endpoints with their status, UUID and address."""
    infos = list_endpoints(proxystore_dir)
    if not infos:
        click.echo('No endpoints configured.')
        return
    rows = [('NAME', 'STATUS', 'UUID', 'ADDRESS')] + [
        (info.name, info.status.value, info.uuid, info.address)
        for info in infos
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [row[i].ljust(widths[i]) for i in range(3)]
        click.echo('  '.join([*cells, row[3]]))


@cli.command()
@click.argument('name')
@click.option('--yes', is_flag=True, help='Do not ask for confirmation.')
@click.pass_obj
@_clear_errors
def remove(proxystore_dir: str | None, name: str, yes: bool) -> None:
    """Remove endpoint NAME (its config and stored blobs)."""
    load_config(name, proxystore_dir)
    if not yes:
        click.confirm(f'Remove endpoint {name} and its data?', abort=True)
    remove_endpoint(name, proxystore_dir=proxystore_dir)
    click.echo(f'Removed endpoint {name}.')


@cli.command()
@click.argument('name')
@click.argument(
    'operation',
    type=click.Choice(['get', 'set', 'exists', 'evict']),
)
@click.argument('key')
@click.argument('value', required=False)
@click.option('--endpoint', default=None, help='UUID owning the object.')
@click.pass_obj
@_clear_errors
def test(
    proxystore_dir: str | None,
    name: str,
    operation: str,
    key: str,
    value: str | None,
    endpoint: str | None,
) -> None:
    """Run OPERATION on KEY against running endpoint NAME."""
    config = load_config(name, proxystore_dir)
    address = config.local_url()
    token = config.token
    if operation == 'get':
        blob = client.get(address, key, endpoint, token=token)
        if blob is None:
            raise click.ClickException(f'No object with key {key!r}.')
        click.echo(bytes(blob).decode(errors='replace'))
    elif operation == 'set':
        if value is None:
            raise click.UsageError('set needs a VALUE.')
        client.put(address, key, value.encode(), endpoint, token=token)
        click.echo(f'Set {key}.')
    elif operation == 'exists':
        click.echo(client.exists(address, key, endpoint, token=token))
    else:
        client.evict(address, key, endpoint, token=token)
        click.echo(f'Evicted {key}.')


@cli.command()
def version() -> None:
    """Print the ProxyStore version."""
    click.echo(f'ProxyStore v{proxystore.__version__}')


if __name__ == '__main__':
    cli()
