"""The `proxystore-endpoint` command line interface.

```bash
proxystore-endpoint configure my-endpoint --no-relay-server
proxystore-endpoint start my-endpoint
proxystore-endpoint list
proxystore-endpoint test my-endpoint put hello
proxystore-endpoint test my-endpoint get <key printed by put>
proxystore-endpoint stop my-endpoint
proxystore-endpoint remove my-endpoint
```

Commands and options follow upstream ProxyStore: `--log-level` comes
before the command, `start` detaches by default (`--no-detach` stays in
the foreground) and returns once the endpoint answers (`--no-wait`
returns at once), and output lines look like `INFO: Object exists: True`.
Beyond upstream: `--proxystore-dir`, and `configure --token/--no-token`,
`--max-object-size`, `--certfile`/`--keyfile`; `remove --yes`.
"""

from __future__ import annotations

import logging
import sys
import uuid
from typing import Any

import click

import proxystore
from proxystore.endpoint import client
from proxystore.endpoint.commands import EndpointCommandError
from proxystore.endpoint.commands import configure_endpoint
from proxystore.endpoint.commands import launch_endpoint
from proxystore.endpoint.commands import list_endpoints
from proxystore.endpoint.commands import remove_endpoint
from proxystore.endpoint.commands import start_endpoint
from proxystore.endpoint.commands import stop_endpoint
from proxystore.endpoint.config import get_endpoint_dir
from proxystore.endpoint.config import read_config
from proxystore.endpoint.config import validate_name
from proxystore.endpoint.session import EndpointSession
from proxystore.endpoint.storage import DEFAULT_MAX_OBJECT_SIZE
from proxystore.utils.environment import home_dir

logger = logging.getLogger('proxystore.endpoint.cli')

LOG_LEVELS = click.Choice(
    ['ERROR', 'WARNING', 'INFO', 'DEBUG'],
    case_sensitive=False,
)
DEFAULT_RELAY_ADDRESS = 'wss://relay.proxystore.dev'
"""Relay server `configure` uses unless told otherwise."""

_COLOURS = {
    logging.DEBUG: '\033[0;36m',
    logging.INFO: '\033[0;32m',
    logging.WARNING: '\033[0;33m',
    logging.ERROR: '\033[0;31m',
    logging.CRITICAL: '\033[1;31m',
}
_RESET = '\033[0m'


class _CLIFormatter(logging.Formatter):
    """`<colour>LEVEL:<reset> message`, or the bare message if `simple`."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if getattr(record, 'simple', False):
            return message
        colour = _COLOURS.get(record.levelno, '')
        return f'{colour}{record.levelname}:{_RESET} {message}'


def _setup_logging(level: str) -> None:
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, '_proxystore_cli', False):
            root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(_CLIFormatter())
    handler._proxystore_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


def check_nat_and_log(source_ip: str, source_port: int) -> None:
    """Log this host's NAT type (`proxystore.p2p.nat.check_nat_and_log`)."""
    from proxystore.p2p import nat

    nat.check_nat_and_log(source_ip, source_port)


class _Options:
    def __init__(self, proxystore_dir: str | None, log_level: str) -> None:
        self.proxystore_dir = proxystore_dir
        self.log_level = log_level

    def home(self) -> str:
        return self.proxystore_dir or home_dir()


@click.group()
@click.option(
    '--log-level',
    type=LOG_LEVELS,
    default='INFO',
    show_default=True,
    help='Minimum logging level.',
)
@click.option(
    '--proxystore-dir',
    type=click.Path(file_okay=False),
    default=None,
    help='Folder holding endpoint folders (default: ProxyStore home).',
)
@click.pass_context
def cli(
    ctx: click.Context, log_level: str, proxystore_dir: str | None
) -> None:
    """Manage and start ProxyStore Endpoints."""
    _setup_logging(log_level.upper())
    ctx.obj = _Options(proxystore_dir, log_level.upper())


@cli.command(name='help')
@click.pass_context
def show_help(ctx: click.Context) -> None:
    """Show available commands and options."""
    assert ctx.parent is not None
    click.echo(ctx.parent.get_help())


@cli.command()
def version() -> None:
    """Show the ProxyStore version."""
    click.echo(f'ProxyStore v{proxystore.__version__}')


@cli.command(name='check-nat')
@click.option('--host', default='0.0.0.0', help='Local address to use.')
@click.option('--port', default=54320, type=int, help='Local port to use.')
def check_nat_command(host: str, port: int) -> None:
    """Check the type of NAT this host is behind."""
    check_nat_and_log(host, port)
    raise SystemExit(0)


@cli.command()
@click.argument('name', metavar='NAME', required=True)
@click.option(
    '--host',
    default='ip',
    show_default=True,
    help='"ip" or "fqdn" to find the address at start, or an address.',
)
@click.option('--port', type=int, default=None, help='Port (default random).')
@click.option(
    '--relay-address',
    default=DEFAULT_RELAY_ADDRESS,
    show_default=True,
    help='Relay server address for peering.',
)
@click.option(
    '--relay-auth/--no-relay-auth',
    default=True,
    show_default=True,
    help='Authenticate with the relay server through Globus.',
)
@click.option(
    '--relay-server/--no-relay-server',
    default=True,
    show_default=True,
    help='Use a relay server for peering.',
)
@click.option(
    '--peer-channels',
    type=int,
    default=1,
    show_default=True,
    metavar='COUNT',
    help='Data channels per peer connection.',
)
@click.option(
    '--persist/--no-persist',
    default=False,
    show_default=True,
    help='Keep blobs in SQLite so they survive restarts.',
)
@click.option('--token', default=None, help='Require this bearer token.')
@click.option(
    '--no-token',
    is_flag=True,
    help='Require no token (warns unless the host is loopback).',
)
@click.option(
    '--max-object-size',
    type=int,
    default=DEFAULT_MAX_OBJECT_SIZE,
    show_default=True,
    help='Largest blob in bytes.',
)
@click.option('--certfile', default=None, help='TLS certificate (HTTPS).')
@click.option('--keyfile', default=None, help='Private key of --certfile.')
@click.pass_obj
def configure(
    options: _Options,
    name: str,
    host: str,
    port: int | None,
    relay_address: str,
    relay_auth: bool,
    relay_server: bool,
    peer_channels: int,
    persist: bool,
    token: str | None,
    no_token: bool,
    max_object_size: int,
    certfile: str | None,
    keyfile: str | None,
) -> None:
    """Configure a new endpoint called NAME."""
    if no_token and token is not None:
        raise click.UsageError('--token and --no-token exclude each other.')
    raise SystemExit(
        configure_endpoint(
            name,
            port=port,
            relay_server=relay_address if relay_server else None,
            host=host,
            peer_channels=peer_channels,
            persist_data=persist,
            proxystore_dir=options.proxystore_dir,
            relay_auth=relay_auth,
            token=token,
            auth=not no_token,
            max_object_size=max_object_size,
            certfile=certfile,
            keyfile=keyfile,
        ),
    )


@cli.command(name='list')
@click.pass_obj
def list_command(options: _Options) -> None:
    """List all user endpoints."""
    raise SystemExit(list_endpoints(proxystore_dir=options.proxystore_dir))


@cli.command()
@click.argument('name', metavar='NAME', required=True)
@click.option('--yes', is_flag=True, help='Do not ask for confirmation.')
@click.pass_obj
def remove(options: _Options, name: str, yes: bool) -> None:
    """Remove endpoint NAME (its config, log and stored blobs)."""
    if not yes and sys.stdin.isatty():
        click.confirm(f'Remove endpoint {name} and its data?', abort=True)
    raise SystemExit(
        remove_endpoint(name, proxystore_dir=options.proxystore_dir),
    )


@cli.command()
@click.argument('name', metavar='NAME', required=True)
@click.option(
    '--detach/--no-detach',
    default=True,
    show_default=True,
    help='Run the endpoint as a daemon in the background.',
)
@click.option(
    '--wait/--no-wait',
    default=True,
    show_default=True,
    help='With --detach, return once the endpoint answers.',
)
@click.pass_obj
def start(options: _Options, name: str, detach: bool, wait: bool) -> None:
    """Start endpoint NAME."""
    if not (detach and wait):
        raise SystemExit(
            start_endpoint(
                name,
                detach=detach,
                log_level=options.log_level,
                proxystore_dir=options.proxystore_dir,
            ),
        )
    directory = options.proxystore_dir
    try:
        config = launch_endpoint(
            name,
            proxystore_dir=directory,
            log_level=options.log_level,
        )
    except EndpointCommandError as e:
        for line in str(e).splitlines():
            logger.error(line)
        raise SystemExit(1) from None
    endpoint_dir = get_endpoint_dir(name, options.home())
    logger.info('Starting endpoint process as daemon.')
    logger.info(f'Logs will be written to {endpoint_dir}/log.txt')
    logger.debug(f'Endpoint {name} answers at {config.local_url()}.')
    raise SystemExit(0)


@cli.command()
@click.argument('name', metavar='NAME', required=True)
@click.pass_obj
def stop(options: _Options, name: str) -> None:
    """Stop endpoint NAME."""
    raise SystemExit(
        stop_endpoint(name, proxystore_dir=options.proxystore_dir)
    )


class _Target:
    """The endpoint a `test` subcommand talks to."""

    def __init__(self, address: str, session: EndpointSession, remote: Any):
        self.address = address
        self.session = session
        self.remote = remote


@cli.group(context_settings={'allow_interspersed_args': True})
@click.argument('name', metavar='NAME', required=True)
@click.option(
    '--remote',
    metavar='UUID',
    default=None,
    help='UUID of a remote (peer) endpoint to run the operation on.',
)
@click.pass_context
def test(ctx: click.Context, name: str, remote: str | None) -> None:
    """Run an operation on endpoint NAME."""
    options: _Options = ctx.obj
    missing = f'An endpoint named {name} does not exist.'
    if not validate_name(name):
        logger.error(missing)
        raise SystemExit(1)
    endpoint_dir = get_endpoint_dir(name, options.home())
    try:
        config = read_config(endpoint_dir)
    except FileNotFoundError:
        logger.error(missing)
        raise SystemExit(1) from None
    except ValueError as e:
        logger.error(str(e))
        raise SystemExit(1) from None
    if remote is not None:
        try:
            remote = str(uuid.UUID(remote))
        except ValueError:
            logger.error(f'{remote} is not a valid UUID.')
            raise SystemExit(1) from None
    address = config.local_url()
    session = EndpointSession(
        address,
        token=config.token,
        ssl_context=config.client_ssl_context(),
    )
    ctx.call_on_close(session.close)
    ctx.obj = _Target(address, session, remote)


def _run(target: _Target, function: Any, *args: Any) -> Any:
    """Call a client function; turn failures into an error and exit 1."""
    try:
        return function(
            target.address,
            *args,
            target.remote,
            session=target.session,
        )
    except client.RequestException as e:
        if isinstance(e, ConnectionError) or (
            type(e).__name__ == 'EndpointConnectionError'
        ):
            logger.error(
                f'Unable to connect to endpoint at {target.address}.',
            )
        else:
            logger.error(str(e))
        raise SystemExit(1) from None


def _describe(blob: Any) -> str:
    """Show a stored object; only plain str/bytes data is deserialized."""
    from proxystore.serialize import deserialize
    from proxystore.serialize._frame import NAMES

    data = bytes(blob)
    if NAMES.get(data[:1]) in ('bytes', 'string'):
        try:
            return str(deserialize(data))
        except Exception:  # noqa: BLE001
            pass
    return f'<{len(data)} bytes not shown: not a serialized str or bytes>'


@test.command(name='evict')
@click.argument('key', metavar='KEY', required=True)
@click.pass_obj
def test_evict(target: _Target, key: str) -> None:
    """Evict the object for KEY."""
    _run(target, client.evict, key)
    logger.info('Evicted object from endpoint.')
    raise SystemExit(0)


@test.command(name='exists')
@click.argument('key', metavar='KEY', required=True)
@click.pass_obj
def test_exists(target: _Target, key: str) -> None:
    """Check if an object exists for KEY."""
    found = _run(target, client.exists, key)
    logger.info(f'Object exists: {found}')
    raise SystemExit(0)


@test.command(name='get')
@click.argument('key', metavar='KEY', required=True)
@click.pass_obj
def test_get(target: _Target, key: str) -> None:
    """Get the object for KEY."""
    blob = _run(target, client.get, key)
    if blob is None:
        logger.info('Object does not exist.')
    else:
        logger.info(f'Result: {_describe(blob)}')
    raise SystemExit(0)


@test.command(name='put')
@click.argument('data', metavar='DATA', required=True)
@click.pass_obj
def test_put(target: _Target, data: str) -> None:
    """Put DATA (a string) into the endpoint under a new key."""
    from proxystore.serialize import serialize

    key = str(uuid.uuid4())
    _run(target, client.put, key, serialize(data))
    logger.info(f'Put object in endpoint with key {key}')
    raise SystemExit(0)


if __name__ == '__main__':
    cli()
