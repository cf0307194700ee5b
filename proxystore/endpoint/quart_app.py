"""The endpoint as a Quart (ASGI) app: `create_app` and its blueprint.

For users who mount an endpoint in their own ASGI server, or test it with
Quart's test client. Requests are answered by the same
`proxystore.endpoint.handlers.EndpointHandlers` as the endpoint's own
server (`proxystore.endpoint.serve.serve`), so the two cannot drift apart.
These names are also importable from `proxystore.endpoint.serve`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

try:
    import quart
except ImportError as e:  # pragma: no cover
    raise ImportError(
        f'{e}. To serve endpoints, install the endpoints extra: '
        '$ pip install proxystore[endpoints]',
    ) from e

from proxystore.endpoint.constants import MAX_CHUNK_LENGTH
from proxystore.endpoint.endpoint import Endpoint
from proxystore.endpoint.handlers import EndpointHandlers
from proxystore.endpoint.handlers import init_endpoint
from proxystore.endpoint.protocol import Request
from proxystore.endpoint.protocol import Response
from proxystore.endpoint.storage import ChunkedBlob
from proxystore.endpoint.storage import blob_size

_HANDLERS_KEY = 'ENDPOINT_HANDLERS'

routes_blueprint = quart.Blueprint('routes', __name__)
"""The endpoint routes as a Quart blueprint (see `create_app`)."""


def _handlers() -> EndpointHandlers:
    handlers: EndpointHandlers = quart.current_app.config[_HANDLERS_KEY]
    return handlers


async def _body_pieces(blob: Any) -> AsyncIterator[bytes]:
    if isinstance(blob, ChunkedBlob):
        for chunk in blob.chunks:
            yield chunk
        return
    view = memoryview(blob).cast('B')
    for start in range(0, view.nbytes, MAX_CHUNK_LENGTH):
        yield bytes(view[start : start + MAX_CHUNK_LENGTH])


def _to_quart(response: Response) -> quart.Response:
    headers = {}
    for line in response.headers:
        name, _, value = line.decode().partition(':')
        headers[name.strip()] = value.strip()
    body: Any = response.body
    if response.chunked and blob_size(body) > 0:
        body = _body_pieces(body)
    else:
        body = bytes(body)
    return quart.Response(
        body,
        status=response.status,
        headers=headers,
        content_type=response.content_type,
    )


async def _answer() -> quart.Response:
    """Answer the current Quart request with the shared handlers."""
    handlers = _handlers()
    incoming = quart.request
    authorization = incoming.headers.get('Authorization')
    request = Request(
        method=incoming.method,
        path=incoming.path,
        query=incoming.args.to_dict(flat=True),
        authorization=(
            authorization.encode() if authorization is not None else None
        ),
        content_length=incoming.content_length,
    )
    refusal, limit = handlers.check(request)
    if refusal is not None:
        return _to_quart(refusal)
    if limit != 0:
        chunks: list[bytes] = []
        received = 0
        async for chunk in incoming.body:
            received += len(chunk)
            if limit is not None and received > limit:
                return _to_quart(handlers.too_large(received, limit))
            chunks.append(chunk)
        request.body = b''.join(chunks)
    return _to_quart(await handlers.handle(request))


@routes_blueprint.route('/', methods=['GET'])
async def home_handler() -> quart.Response:
    """Health check (`GET /`)."""
    return await _answer()


@routes_blueprint.route('/endpoint', methods=['GET'])
async def endpoint_handler() -> quart.Response:
    """Identity of the endpoint (`GET /endpoint`)."""
    return await _answer()


@routes_blueprint.route('/evict', methods=['POST'])
async def evict_handler() -> quart.Response:
    """Evict a blob (`POST /evict`)."""
    return await _answer()


@routes_blueprint.route('/exists', methods=['GET'])
async def exists_handler() -> quart.Response:
    """Check if a blob exists (`GET /exists`)."""
    return await _answer()


@routes_blueprint.route('/get', methods=['GET'])
async def get_handler() -> quart.Response:
    """Get a blob (`GET /get`)."""
    return await _answer()


@routes_blueprint.route('/set', methods=['POST'])
async def set_handler() -> quart.Response:
    """Store a blob (`POST /set`)."""
    return await _answer()


def create_app(
    endpoint: Endpoint,
    max_content_length: int | None = None,
    body_timeout: int = 300,
    *,
    token: str | None = None,
) -> quart.Quart:
    """Create a Quart app serving `endpoint`.

    The app answers the same routes as `serve` with the same handlers.
    Serving starts the endpoint (`async_init()`) and stopping closes it.

    Args:
        endpoint: The endpoint to serve.
        max_content_length: Largest request body Quart accepts (`None`
            for no limit; the endpoint's storage limit applies anyway).
        body_timeout: Seconds a request body may take to arrive.
        token: Bearer token required on every route but `GET /`
            (`None` disables authentication).
    """
    app = quart.Quart(__name__)
    app.config['endpoint'] = endpoint
    app.config['MAX_CONTENT_LENGTH'] = max_content_length
    app.config['BODY_TIMEOUT'] = body_timeout
    app.config[_HANDLERS_KEY] = EndpointHandlers(
        endpoint,
        token=token,
        body_timeout=body_timeout,
    )
    app.register_blueprint(routes_blueprint, url_prefix='')

    @app.before_serving
    async def _startup() -> None:
        await init_endpoint(endpoint)

    @app.after_serving
    async def _shutdown() -> None:
        await endpoint.close()

    return app
