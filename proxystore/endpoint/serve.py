"""Serving an endpoint: our fast HTTP server, or a Quart app.

`serve(config)` runs the endpoint described by an `EndpointConfig` in the
foreground on our asyncio + httptools server (see
`proxystore.endpoint.protocol`), which answers small requests several
times faster than an ASGI stack. `create_app(endpoint)` returns a Quart
app with the same routes for users who mount the endpoint in their own
ASGI server (or test it with Quart's test client). Both answer every
request with the same `proxystore.endpoint.handlers.EndpointHandlers`.

With `relay.address` set, `serve` connects the endpoint to its peers
through the relay (a `proxystore.p2p.relay.client.RelayClient` and a
`proxystore.p2p.manager.PeerManager`).

Security: an endpoint refuses to listen without a token on an interface
other than loopback unless `allow_unauthenticated` is set (then it logs a
warning); with `certfile` set it serves HTTPS.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import inspect
import logging
import os
import ssl
import sys
import uuid
from collections.abc import Coroutine
from typing import Any
from typing import Literal

from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import is_loopback
from proxystore.endpoint.constants import MAX_CHUNK_LENGTH
from proxystore.endpoint.endpoint import Endpoint
from proxystore.endpoint.handlers import EndpointHandlers
from proxystore.endpoint.handlers import init_endpoint
from proxystore.endpoint.hosting import wait_for_stop
from proxystore.endpoint.polling import new_event_loop
from proxystore.endpoint.storage import DictStorage
from proxystore.endpoint.storage import SQLiteStorage
from proxystore.endpoint.storage import Storage

__all__ = [
    'MAX_CHUNK_LENGTH',
    'check_listener',
    'create_storage',
    'run_server',
    'serve',
]

logger = logging.getLogger(__name__)

LOG_FORMAT = (
    '[%(asctime)s.%(msecs)03d] %(levelname)-5s (%(name)s) :: %(message)s'
)
"""Format of the endpoint's log lines."""
LOG_DATEFMT = '%Y-%m-%d %H:%M:%S'
"""Date format of the endpoint's log lines."""

_QUART_NAMES = frozenset(
    {
        'create_app',
        'endpoint_handler',
        'evict_handler',
        'exists_handler',
        'get_handler',
        'home_handler',
        'routes_blueprint',
        'set_handler',
    },
)


def __getattr__(name: str) -> Any:
    # The Quart front end (`create_app`, `routes_blueprint` and the route
    # functions) lives in `proxystore.endpoint.quart_app`, imported on
    # first use: `serve` itself does not need the ASGI stack.
    if name in _QUART_NAMES:
        from proxystore.endpoint import quart_app

        return getattr(quart_app, name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def create_storage(config: EndpointConfig) -> Storage:
    """Build the storage described by `config.storage`."""
    storage = config.storage
    if storage.database_path is None:
        logger.warning(
            'Database path not provided. Data will not be persisted.',
        )
        return DictStorage(max_object_size=storage.max_object_size)
    return SQLiteStorage(
        storage.database_path,
        max_object_size=storage.max_object_size,
    )


def _get_auth_headers(
    method: Literal['globus'] | None,
    **kwargs: Any,
) -> dict[str, str]:
    """Return the headers that authenticate this endpoint with a relay.

    Args:
        method: `None` (no headers) or `'globus'` (a Globus bearer token
            for the ProxyStore relay scope).
        kwargs: Options for the method (unused).

    Raises:
        ValueError: For an unknown method.
        SystemExit: If the stored Globus tokens are missing or invalid
            (after logging a hint to run `proxystore-globus-auth login`).
    """
    if method is None:
        return {}
    if method != 'globus':
        raise ValueError(f'Unknown relay authentication method: {method}.')
    from globus_sdk.token_storage import TokenValidationError

    # Globus support is optional: resolved when asked for.
    globus_app = importlib.import_module('proxystore.globus.app')
    scopes = importlib.import_module('proxystore.globus.scopes')

    app = globus_app.get_globus_app()
    app.add_scope_requirements(scopes.get_relay_scopes_by_resource_server())
    try:
        authorizer = app.get_authorizer(
            scopes.ProxyStoreRelayScopes.resource_server,
        )
        header = authorizer.get_authorization_header()
    except TokenValidationError as e:
        logger.error(
            'Failed to validate Globus tokens. Try logging in again with '
            '`proxystore-globus-auth login`.\n%s',
            e,
        )
        raise SystemExit(1) from e
    assert header is not None
    return {'Authorization': header}


def _check_nat_in_background() -> None:
    """Log this host's NAT type without delaying startup."""

    def check() -> None:
        from proxystore.p2p import nat

        nat.check_nat_and_log()

    loop = asyncio.get_running_loop()
    loop.run_in_executor(None, check)


_PEERING_REQUIREMENTS = ('aiortc', 'websockets')
"""Third-party packages peering needs (the `endpoints` extra)."""


def _peer_manager(config: EndpointConfig) -> Any:
    """Build the peer manager for `config.relay` (`None` without a relay)."""
    relay = config.relay
    if relay.address is None:
        return None
    try:
        # proxystore.p2p only warns when these are missing (as upstream)
        # and would fail later, mid-connection: check them up front.
        for requirement in _PEERING_REQUIREMENTS:
            importlib.import_module(requirement)
        from proxystore.p2p.manager import PeerManager
        from proxystore.p2p.relay.client import RelayClient
        from proxystore.p2p.relay.secret import secret_headers
    except ImportError as e:
        raise ImportError(
            f'Endpoint {config.name} has a relay ({relay.address}) but '
            f'peering is not installed ({e}). Install it with '
            '"pip install proxystore[endpoints]", or configure the '
            'endpoint without a relay (--no-relay-server).',
        ) from e
    headers = _get_auth_headers(relay.auth.method, **relay.auth.kwargs)
    if relay.secret is not None:
        headers.update(secret_headers(relay.secret))
    relay_client = RelayClient(
        relay.address,
        client_name=config.name,
        client_uuid=uuid.UUID(config.uuid),
        extra_headers=headers,
        verify_certificate=relay.verify_certificate,
    )
    wanted: dict[str, Any] = {
        'peer_channels': relay.peer_channels,
        # Peers may forward requests straight to this endpoint's server.
        'http_address': config.address(),
        # This endpoint's token goes to peers' servers on that path only
        # when the relay authenticates users, so that peers are the same
        # user's endpoints; an open relay's peers could be anyone.
        'http_token': config.token if relay.auth.method else None,
    }
    if relay.ice_servers is not None:
        from aiortc import RTCIceServer

        wanted['ice_servers'] = [
            RTCIceServer(**server) for server in relay.ice_servers
        ]
    accepted = inspect.signature(PeerManager).parameters
    options = {k: v for k, v in wanted.items() if k in accepted}
    return PeerManager(relay_client, **options)


async def _start_endpoint(endpoint: Any, peer_manager: Any) -> Any:
    """Run the endpoint's async setup (`await Endpoint(...)` upstream)."""
    if hasattr(endpoint, '__await__'):
        return await endpoint
    await init_endpoint(endpoint)
    start = getattr(peer_manager, 'start', None)
    if start is not None:
        await start()
    return endpoint


def check_listener(config: EndpointConfig) -> None:
    """Refuse an unauthenticated listener on a non-loopback interface.

    Logs a warning instead if `config.allow_unauthenticated` is set.

    Raises:
        ValueError: If `config` has no host, or would listen without a
            token on a non-loopback interface and does not allow it.
    """
    host = config.bind_host()
    if config.token is not None or is_loopback(host):
        return
    if config.allow_unauthenticated:
        logger.warning(
            'Endpoint %s serves on %s without authentication: anyone who '
            'can reach %s:%d can read and write its objects.',
            config.name,
            host,
            host,
            config.port,
        )
        return
    raise ValueError(
        f'Refusing to serve endpoint {config.name} without authentication '
        f'on the non-loopback address {host}. Set a token (`token` in '
        'config.toml, or `proxystore-endpoint configure --token`), listen '
        'on loopback, or set `allow_unauthenticated = true` to accept the '
        'risk.',
    )


def server_ssl_context(config: EndpointConfig) -> ssl.SSLContext | None:
    """Return the TLS context of an endpoint with a `certfile`, else None."""
    if config.certfile is None:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(config.certfile, config.keyfile)
    return context


async def run_server(
    config: EndpointConfig,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the endpoint described by `config` until `stop` is set.

    Without a `stop` event, SIGINT and SIGTERM stop the server. Shutdown is
    graceful: the storage is closed so persistent blobs are committed.

    Raises:
        ValueError: If `config` has no host or would serve without
            authentication on a non-loopback interface (see
            `check_listener`).
        OSError: If the address cannot be bound (e.g. port in use).
    """
    check_listener(config)
    ssl_context = server_ssl_context(config)
    peer_manager = _peer_manager(config)
    endpoint: Any = Endpoint(
        config.name,
        uuid.UUID(config.uuid),
        peer_manager=peer_manager,
        storage=create_storage(config),
    )
    handlers = EndpointHandlers(endpoint, token=config.token)
    try:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            handlers.protocol,
            config.bind_host(),
            config.port,
            ssl=ssl_context,
        )
        endpoint = await _start_endpoint(endpoint, peer_manager)
        handlers.endpoint = endpoint
        if peer_manager is not None and config.relay.check_nat:
            _check_nat_in_background()
        logger.info(
            'Serving endpoint %s (%s) on %s:%d',
            config.uuid,
            config.name,
            config.host,
            config.port,
        )
        try:
            await wait_for_stop(stop)
        finally:
            server.close()
            handlers.close_connections()
            await server.wait_closed()
    finally:
        await endpoint.close()


def _configure_logging(log_level: int | str, log_file: str | None) -> None:
    root = logging.getLogger()
    if log_file is not None:
        directory = os.path.dirname(os.path.abspath(log_file))
        os.makedirs(directory, exist_ok=True)
        root.addHandler(logging.FileHandler(log_file))
    if not root.handlers:
        root.addHandler(logging.StreamHandler())
    formatter = logging.Formatter(LOG_FORMAT, datefmt=LOG_DATEFMT)
    for handler in root.handlers:
        handler.setFormatter(formatter)
    root.setLevel(
        log_level.upper() if isinstance(log_level, str) else log_level,
    )


def serve(
    config: EndpointConfig,
    *,
    log_level: int | str = logging.INFO,
    log_file: str | None = None,
    use_uvloop: bool = True,
) -> None:
    """Run the endpoint described by `config` in the foreground.

    Blocks until SIGINT or SIGTERM.

    Args:
        config: The endpoint's configuration (`host` must be set).
        log_level: Level of the root logger.
        log_file: Also append log lines to this file (its folder is
            created).
        use_uvloop: Run on uvloop if it is installed; otherwise (or if
            `False`) on an asyncio loop that polls briefly before
            blocking, which roughly halves small-request latency (and
            answered 1 KiB requests about 1.5x faster than uvloop).

    Raises:
        ValueError: If `config.host` is `None`, or the endpoint would
            serve without authentication on a non-loopback interface.
        OSError: If the address cannot be bound (e.g. port in use).
    """
    _configure_logging(log_level, log_file)
    config.bind_host()
    loop_factory = new_event_loop
    if use_uvloop:
        try:
            import uvloop  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            pass
        else:
            loop_factory = uvloop.new_event_loop
    try:
        run(run_server(config), loop_factory=loop_factory)
    except Exception:
        logger.exception('Caught unhandled exception in endpoint')
        raise
    finally:
        logger.info('Finished serving endpoint: %s', config.name)


def run(
    main: Coroutine[Any, Any, None],
    *,
    loop_factory: Any = new_event_loop,
) -> None:
    """Run `main` like `asyncio.run`, on a loop from `loop_factory`.

    The default loop polls before blocking (see
    `proxystore.endpoint.polling`): it roughly halves the latency of
    small requests from a client waiting for each answer.
    """
    if sys.version_info < (3, 11):  # pragma: no cover
        loop = loop_factory()
        try:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(main)
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
        return
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main)
