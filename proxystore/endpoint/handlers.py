"""The endpoint's HTTP routes, shared by both of its front ends.

Routes (all but `GET /` require the bearer token when one is configured):

| route | answer |
| --- | --- |
| `GET /` | health check: `{"status": "ok"}` |
| `GET /endpoint` | `{"uuid": ..., "name": ...}` |
| `GET /get?key=K&endpoint=U` | the raw blob, or 404 |
| `POST /set?key=K&endpoint=U` | stores the raw request body |
| `GET /exists?key=K&endpoint=U` | `{"exists": bool}` |
| `POST /evict?key=K&endpoint=U` | evicts (no-op if missing) |

`endpoint` is optional and names the endpoint that owns the blob. Status
codes and bodies follow upstream ProxyStore: 400 `request missing key`,
and `<value> is not a valid UUID4`, 404 `no data
associated with request key`, 500 with the text of a failed peer request.
Unlike upstream, an empty body is stored (upstream answers 400 `received
empty payload`): connectors may store empty objects.
Beyond upstream: 400 for a malformed key, 401 for a missing or wrong
token, 413 for a blob over `max_object_size`, 502 for an unreachable peer.

`EndpointHandlers` decides every request once its head is known (`check`)
and answers it once its body is in (`handle`). Our httptools server
(`proxystore.endpoint.protocol`) and the Quart app of
`proxystore.endpoint.serve.create_app` both call it, so the two cannot
drift apart.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
import uuid
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Coroutine
from typing import Any

from proxystore.endpoint.constants import MAX_CHUNK_LENGTH
from proxystore.endpoint.exceptions import InvalidKeyError
from proxystore.endpoint.exceptions import MalformedRequestError
from proxystore.endpoint.exceptions import ObjectSizeExceededError
from proxystore.endpoint.exceptions import PeerRequestError
from proxystore.endpoint.exceptions import PeerUnavailableError
from proxystore.endpoint.keys import validate_key
from proxystore.endpoint.protocol import BODY_TIMEOUT
from proxystore.endpoint.protocol import HEADER_TIMEOUT
from proxystore.endpoint.protocol import MAX_CONNECTIONS
from proxystore.endpoint.protocol import HTTPProtocol
from proxystore.endpoint.protocol import Request
from proxystore.endpoint.protocol import Response
from proxystore.endpoint.storage import check_object_size

logger = logging.getLogger(__name__)

_EMPTY = Response(200, b'', 'text/html; charset=utf-8')
_EXISTS_TRUE = Response(200, b'{"exists": true}', 'application/json')
_EXISTS_FALSE = Response(200, b'{"exists": false}', 'application/json')
_HEALTH = Response(200, b'{"status": "ok"}', 'application/json')
_MISSING_KEY = Response(400, b'request missing key')
_NOT_FOUND_BLOB = Response(404, b'no data associated with request key')
_UNAUTHORIZED = Response(
    401,
    b'Missing or invalid bearer token.',
    headers=(b'WWW-Authenticate: Bearer',),
)

Route = Callable[[Any, Request], Awaitable[Response]]
_NO_LIMIT = object()


def _json(value: Any) -> Response:
    return Response(200, json.dumps(value).encode(), 'application/json')


@functools.lru_cache(maxsize=1024)
def _endpoint_uuid(value: str) -> uuid.UUID:
    # Cached: clients name an endpoint in nearly every request.
    try:
        return uuid.UUID(value)
    except ValueError:
        raise InvalidKeyError(f'{value} is not a valid UUID4') from None


async def _health(endpoint: Any, request: Request) -> Response:
    return _HEALTH


async def _identity(endpoint: Any, request: Request) -> Response:
    return _json({'uuid': str(endpoint.uuid), 'name': endpoint.name})


async def _get(endpoint: Any, request: Request) -> Response:
    key, peer = request.context
    blob = await endpoint.get(key, endpoint=peer)
    if blob is None:
        return _NOT_FOUND_BLOB
    return Response(
        200,
        blob,
        'application/octet-stream',
        chunked=True,
        chunk_size=MAX_CHUNK_LENGTH,
    )


async def _set(endpoint: Any, request: Request) -> Response:
    key, peer = request.context
    await endpoint.set(key, request.body, endpoint=peer)
    return _EMPTY


async def _exists(endpoint: Any, request: Request) -> Response:
    key, peer = request.context
    found = await endpoint.exists(key, endpoint=peer)
    return _EXISTS_TRUE if found else _EXISTS_FALSE


async def _evict(endpoint: Any, request: Request) -> Response:
    key, peer = request.context
    await endpoint.evict(key, endpoint=peer)
    return _EMPTY


ROUTES: dict[str, tuple[frozenset[str], Route]] = {
    '/': (frozenset({'GET', 'HEAD'}), _health),
    '/endpoint': (frozenset({'GET'}), _identity),
    '/get': (frozenset({'GET'}), _get),
    '/set': (frozenset({'POST'}), _set),
    '/exists': (frozenset({'GET'}), _exists),
    '/evict': (frozenset({'POST'}), _evict),
}
"""Path to (allowed methods, route function)."""
_PUBLIC = frozenset({'/'})
_KEYED = frozenset({'/get', '/set', '/exists', '/evict'})
_WITH_BODY = frozenset({'/set'})


def _storage_limit(endpoint: Any) -> int | None:
    storage = getattr(endpoint, 'storage', None)
    if storage is None:
        storage = getattr(endpoint, '_storage', None)
    return getattr(storage, 'max_object_size', None)


async def init_endpoint(endpoint: Any) -> None:
    """Run `endpoint.async_init()` if the endpoint has one."""
    init = getattr(endpoint, 'async_init', None)
    if init is not None:
        await init()


class EndpointHandlers:
    """The endpoint's routes, for `HTTPProtocol` connections and Quart.

    Args:
        endpoint: The endpoint to serve (an
            `proxystore.endpoint.endpoint.Endpoint`).
        token: Bearer token required on every route but `GET /`
            (`None` disables authentication).
        max_object_size: Largest body accepted by `/set` (default: the
            limit of the endpoint's storage; `None` for no limit).
        header_timeout: Seconds a connection may wait for a request head.
        body_timeout: Seconds a request body may take to arrive.
        max_connections: Most client connections open at once (`None`: no
            cap); more are answered 503 and closed.
    """

    def __init__(
        self,
        endpoint: Any,
        *,
        token: str | None = None,
        max_object_size: Any = _NO_LIMIT,
        header_timeout: float = HEADER_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
        max_connections: int | None = MAX_CONNECTIONS,
    ) -> None:
        self.endpoint = endpoint
        self.max_object_size: int | None = (
            _storage_limit(endpoint)
            if max_object_size is _NO_LIMIT
            else max_object_size
        )
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.max_connections = max_connections
        self._expected = (
            f'Bearer {token}'.encode() if token is not None else None
        )
        self.connections: set[HTTPProtocol] = set()

    def protocol(self) -> HTTPProtocol:
        """Create the protocol for a new connection (a protocol factory)."""
        return HTTPProtocol(
            self,
            self.connections,
            header_timeout=self.header_timeout,
            body_timeout=self.body_timeout,
            max_connections=self.max_connections,
        )

    def _params(self, request: Request) -> tuple[str, uuid.UUID | None]:
        """Return the validated `key` and optional `endpoint` parameters.

        Raises:
            MalformedRequestError: If `key` is missing or either is
                malformed.
        """
        key = request.query.get('key')
        if key is None:
            raise MalformedRequestError('request missing key')
        validate_key(key)
        endpoint = request.query.get('endpoint') or None
        if endpoint is None:
            return key, None
        peer = _endpoint_uuid(endpoint)
        # Peer requests may need a task (e.g. a websocket client).
        own = self.endpoint.uuid
        request.eager = peer == own or str(peer) == str(own)
        return key, peer

    def check(self, request: Request) -> tuple[Response | None, int | None]:
        """Refuse a request before its body arrives, or accept it.

        Checks, in order: route (404) and method (405), bearer token (401),
        query parameters (400), announced body size (400 if empty, 413 if
        over the limit).

        Returns:
            The refusal (or `None`) and the largest body to accept (`None`
            for no limit, 0 to read and drop any body).
        """
        route = ROUTES.get(request.path)
        if route is None:
            return Response(404, b'Not Found'), None
        if request.method not in route[0]:
            return Response(405, b'Method Not Allowed'), None
        if self._expected is not None and request.path not in _PUBLIC:
            given = request.authorization or b''
            if not hmac.compare_digest(given, self._expected):
                return _UNAUTHORIZED, None
        if request.path not in _KEYED:
            return None, 0
        try:
            request.context = self._params(request)  # what the route reads
        except MalformedRequestError as e:
            return Response(400, str(e).encode()), None
        if request.path not in _WITH_BODY:
            return None, 0
        limit = self.max_object_size
        if request.content_length is not None:
            try:
                check_object_size(request.content_length, limit)
            except ObjectSizeExceededError as e:
                return Response(413, str(e).encode()), None
        return None, limit

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
        route = ROUTES[request.path][1]
        try:
            return await route(self.endpoint, request)
        except MalformedRequestError as e:
            return Response(400, str(e).encode())
        except ObjectSizeExceededError as e:
            return Response(413, str(e).encode())
        except PeerUnavailableError as e:
            return Response(502, str(e).encode())
        except PeerRequestError as e:
            return Response(500, str(e).encode())
        except Exception as e:
            logger.exception(
                'Error answering %s %s',
                request.method,
                request.path,
            )
            return Response(500, f'Internal error: {e}'.encode())

    def close_connections(self) -> None:
        """Close every open client connection."""
        for connection in list(self.connections):
            connection.close()


EndpointApp = EndpointHandlers
"""Former name of `EndpointHandlers`."""
