"""The endpoint's HTTP API.

Routes (all but `GET /` require the bearer token when one is configured):

| route | answer |
| --- | --- |
| `GET /` | health check: `{"status": "ok"}` |
| `GET /endpoint` | `{"uuid": ..., "name": ...}` |
| `GET /get?key=K&endpoint=U` | the raw blob, or 404 |
| `POST /set?key=K&endpoint=U` | stores the raw request body |
| `GET /exists?key=K&endpoint=U` | `{"exists": bool}` |
| `POST /evict?key=K&endpoint=U` | evicts (no-op if missing) |

`endpoint` is optional and names the endpoint that owns the blob; requests
for a peer are forwarded. Bodies stream in both directions and a blob is
held in memory once. Errors: 400 malformed request, 401 missing/wrong
token, 404 missing blob or route, 405 wrong method, 413 blob over
`max_object_size`, 502 unreachable peer.

The HTTP/1.1 plumbing is `proxystore.endpoint.protocol`; this module holds
the routes (`EndpointApp`) and runs the server.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import sys
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Coroutine
from typing import Any

from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.endpoint import Endpoint
from proxystore.endpoint.exceptions import MalformedRequestError
from proxystore.endpoint.exceptions import ObjectSizeExceededError
from proxystore.endpoint.exceptions import PeerUnavailableError
from proxystore.endpoint.hosting import wait_for_stop
from proxystore.endpoint.keys import validate_key
from proxystore.endpoint.keys import validate_uuid
from proxystore.endpoint.polling import new_event_loop
from proxystore.endpoint.protocol import HTTPProtocol
from proxystore.endpoint.protocol import Request
from proxystore.endpoint.protocol import Response
from proxystore.endpoint.storage import DictStorage
from proxystore.endpoint.storage import SQLiteStorage
from proxystore.endpoint.storage import Storage
from proxystore.endpoint.storage import check_object_size

logger = logging.getLogger(__name__)

_OK = Response(200, b'ok')
_EXISTS_TRUE = Response(200, b'{"exists": true}', 'application/json')
_EXISTS_FALSE = Response(200, b'{"exists": false}', 'application/json')
_UNAUTHORIZED = Response(
    401,
    b'Missing or invalid bearer token.',
    headers=(b'WWW-Authenticate: Bearer',),
)

Route = Callable[[Endpoint, Request], Awaitable[Response]]


def _json(value: Any) -> Response:
    return Response(200, json.dumps(value).encode(), 'application/json')


def _params(request: Request) -> tuple[str, str | None]:
    """Return the validated `key` and optional `endpoint` parameters.

    Raises:
        MalformedRequestError: If `key` is missing or either is malformed.
    """
    key = request.query.get('key')
    if key is None:
        raise MalformedRequestError('Missing required query parameter "key".')
    endpoint = request.query.get('endpoint') or None
    validate_key(key)
    return key, None if endpoint is None else validate_uuid(endpoint)


async def _health(endpoint: Endpoint, request: Request) -> Response:
    return _json({'status': 'ok'})


async def _identity(endpoint: Endpoint, request: Request) -> Response:
    return _json({'uuid': endpoint.uuid, 'name': endpoint.name})


async def _get(endpoint: Endpoint, request: Request) -> Response:
    key, peer = request.context
    blob = await endpoint.get(key, endpoint=peer)
    if blob is None:
        return Response(404, f'No object with key {key!r}.'.encode())
    return Response(200, blob, 'application/octet-stream')


async def _set(endpoint: Endpoint, request: Request) -> Response:
    key, peer = request.context
    await endpoint.set(key, request.body, endpoint=peer)
    return _OK


async def _exists(endpoint: Endpoint, request: Request) -> Response:
    key, peer = request.context
    found = await endpoint.exists(key, endpoint=peer)
    return _EXISTS_TRUE if found else _EXISTS_FALSE


async def _evict(endpoint: Endpoint, request: Request) -> Response:
    key, peer = request.context
    await endpoint.evict(key, endpoint=peer)
    return _OK


_ROUTES: dict[str, tuple[str, Route]] = {
    '/': ('GET', _health),
    '/endpoint': ('GET', _identity),
    '/get': ('GET', _get),
    '/set': ('POST', _set),
    '/exists': ('GET', _exists),
    '/evict': ('POST', _evict),
}
_PUBLIC = frozenset({'/'})
_KEYED = frozenset({'/get', '/set', '/exists', '/evict'})
_WITH_BODY = frozenset({'/set'})


class EndpointApp:
    """The endpoint's routes, served by `HTTPProtocol` connections.

    Args:
        endpoint: The endpoint to serve.
        token: Bearer token required on every route but `GET /`
            (`None` disables authentication).
    """

    def __init__(self, endpoint: Endpoint, *, token: str | None = None):
        self.endpoint = endpoint
        self._expected = (
            f'Bearer {token}'.encode() if token is not None else None
        )
        self.connections: set[HTTPProtocol] = set()

    def protocol(self) -> HTTPProtocol:
        """Create the protocol for a new connection (a protocol factory)."""
        return HTTPProtocol(self, self.connections)

    def check(self, request: Request) -> tuple[Response | None, int | None]:
        """Refuse a request before its body arrives, or accept it.

        Checks, in order: route (404) and method (405), bearer token (401),
        query parameters (400), announced body size (413).
        """
        route = _ROUTES.get(request.path)
        if route is None:
            return Response(404, b'Not Found'), None
        if route[0] != request.method:
            return Response(405, b'Method Not Allowed'), None
        if self._expected is not None and request.path not in _PUBLIC:
            given = request.authorization or b''
            if not hmac.compare_digest(given, self._expected):
                return _UNAUTHORIZED, None
        limit = self.endpoint.storage.max_object_size
        try:
            if request.path in _KEYED:
                key, peer = _params(request)
                request.context = (key, peer)  # what the route reads
                # Forwarding uses aiohttp's client, which needs a task.
                request.eager = peer is None or peer == self.endpoint.uuid
            if request.path in _WITH_BODY and request.content_length:
                check_object_size(request.content_length, limit)
        except MalformedRequestError as e:
            return Response(400, str(e).encode()), None
        except ObjectSizeExceededError as e:
            return Response(413, str(e).encode()), None
        return None, limit if request.path in _WITH_BODY else 0

    def too_large(self, size: int, limit: int) -> Response:
        """Answer a chunked body that grew past `limit` bytes."""
        try:
            check_object_size(size, limit)
        except ObjectSizeExceededError as e:
            return Response(413, str(e).encode())
        raise AssertionError('size is within the limit')

    def handle(self, request: Request) -> Coroutine[Any, Any, Response]:
        """Answer an accepted, complete request."""
        return self._handle(request)

    async def _handle(self, request: Request) -> Response:
        route = _ROUTES[request.path][1]
        try:
            return await route(self.endpoint, request)
        except MalformedRequestError as e:
            return Response(400, str(e).encode())
        except ObjectSizeExceededError as e:
            return Response(413, str(e).encode())
        except PeerUnavailableError as e:
            return Response(502, str(e).encode())
        except Exception as e:
            logger.exception(
                'Error answering %s %s', request.method, request.path
            )
            return Response(500, f'Internal error: {e}'.encode())

    def close_connections(self) -> None:
        """Close every open client connection."""
        for connection in list(self.connections):
            connection.close()


def create_app(endpoint: Endpoint, *, token: str | None = None) -> EndpointApp:
    """Create the application serving `endpoint`.

    Serve it with `loop.create_server(app.protocol, host, port)`, or use
    `run_server`, which also starts the endpoint's peering and closes the
    endpoint on shutdown.

    Args:
        endpoint: The endpoint to serve.
        token: Bearer token required on every route but `GET /`
            (`None` disables authentication).
    """
    return EndpointApp(endpoint, token=token)


def create_storage(config: EndpointConfig) -> Storage:
    """Build the storage described by `config.storage`."""
    storage = config.storage
    if storage.database_path is None:
        return DictStorage(max_object_size=storage.max_object_size)
    return SQLiteStorage(
        storage.database_path,
        max_object_size=storage.max_object_size,
    )


def create_endpoint(config: EndpointConfig) -> Endpoint:
    """Build the endpoint (storage and peering) described by `config`."""
    from proxystore.endpoint.peers import PeerManager

    peer_manager = None
    if config.relay.address is not None:
        peer_manager = PeerManager(
            config.relay.address,
            uuid=config.uuid,
            name=config.name,
            address=config.public_url(),
            token=config.token,
        )
    return Endpoint(
        config.name,
        config.uuid,
        peer_manager=peer_manager,
        storage=create_storage(config),
    )


async def run_server(
    config: EndpointConfig,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the endpoint described by `config` until `stop` is set.

    Without a `stop` event, SIGINT and SIGTERM stop the server. Shutdown is
    graceful: the storage is closed so persistent blobs are committed.

    Raises:
        OSError: If the address cannot be bound (e.g. port in use).
    """
    endpoint = create_endpoint(config)
    app = create_app(endpoint, token=config.token)
    try:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            app.protocol,
            config.bind_host(),
            config.port,
        )
        if endpoint.peer_manager is not None:
            await endpoint.peer_manager.start()
        logger.info(
            'Endpoint %s (%s) serving at %s',
            config.name,
            config.uuid,
            config.local_url(),
        )
        try:
            await wait_for_stop(stop)
            logger.info('Endpoint %s shutting down', config.name)
        finally:
            server.close()
            app.close_connections()
            await server.wait_closed()
    finally:
        await endpoint.close()


def serve(config: EndpointConfig, *, log_level: str = 'INFO') -> None:
    """Run the endpoint described by `config` in the foreground.

    Blocks until SIGINT or SIGTERM.
    """
    logging.basicConfig(
        level=log_level,
        format=(
            f'[%(asctime)s.%(msecs)03d] %(levelname)s ({os.getpid()}) '
            '%(name)s: %(message)s'
        ),
        datefmt='%Y-%m-%d %H:%M:%S',
    )
    run(run_server(config))


def run(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` like `asyncio.run`, on a loop that polls before blocking.

    See `proxystore.endpoint.polling`: it roughly halves the latency of
    small requests from a client waiting for each answer.
    """
    if sys.version_info < (3, 11):  # pragma: no cover
        loop = new_event_loop()
        try:
            asyncio.set_event_loop(loop)
            loop.run_until_complete(main)
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
        return
    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        runner.run(main)
