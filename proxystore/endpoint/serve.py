"""The endpoint's HTTP API (aiohttp).

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
held in memory once (see `proxystore.endpoint.streams`). Errors: 400
malformed request, 401 missing/wrong token, 404 missing blob, 413 blob over
`max_object_size`, 502 unreachable peer.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import signal

from aiohttp import web
from aiohttp.typedefs import Handler

from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.endpoint import Endpoint
from proxystore.endpoint.exceptions import MalformedRequestError
from proxystore.endpoint.exceptions import ObjectSizeExceededError
from proxystore.endpoint.exceptions import PeerUnavailableError
from proxystore.endpoint.keys import validate_key
from proxystore.endpoint.keys import validate_uuid
from proxystore.endpoint.storage import DictStorage
from proxystore.endpoint.storage import SQLiteStorage
from proxystore.endpoint.storage import Storage
from proxystore.endpoint.streams import drain
from proxystore.endpoint.streams import read_blob
from proxystore.endpoint.streams import write_blob

logger = logging.getLogger(__name__)

ENDPOINT_KEY: web.AppKey[Endpoint] = web.AppKey('endpoint', Endpoint)
"""App key under which `create_app` stores the `Endpoint`."""


_EXISTS_TRUE = b'{"exists": true}'
_EXISTS_FALSE = b'{"exists": false}'


def _error(status: int, message: str) -> web.Response:
    return web.Response(status=status, text=message)


def _guard(handler: Handler, token: str | None) -> Handler:
    """Wrap `handler` with the token check and error-to-status mapping.

    Done by composition at startup rather than with aiohttp middlewares,
    whose per-request chain building costs a large share of small-request
    throughput.
    """
    expected = f'Bearer {token}'.encode() if token is not None else None

    async def guarded(request: web.Request) -> web.StreamResponse:
        if expected is not None:
            given = request.headers.get('Authorization', '')
            given_bytes = given.encode('utf-8', 'replace')
            if not hmac.compare_digest(given_bytes, expected):
                return web.Response(
                    status=401,
                    text='Missing or invalid bearer token.',
                    headers={'WWW-Authenticate': 'Bearer'},
                )
        try:
            return await handler(request)
        except MalformedRequestError as e:
            # Read what the client is still sending so it gets our answer
            # (and the connection stays usable).
            await drain(request.content)
            return _error(400, str(e))
        except ObjectSizeExceededError as e:
            return _error(413, str(e))
        except PeerUnavailableError as e:
            return _error(502, str(e))

    return guarded


def _params(request: web.Request) -> tuple[str, str | None]:
    """Return the validated `key` and optional `endpoint` parameters.

    Checked before any body is read, so a bad request is refused without
    storing anything.
    """
    key = request.query.get('key')
    if key is None:
        raise MalformedRequestError('Missing required query parameter "key".')
    endpoint = request.query.get('endpoint') or None
    validate_key(key)
    return key, None if endpoint is None else validate_uuid(endpoint)


async def _health(request: web.Request) -> web.Response:
    return web.json_response({'status': 'ok'})


async def _identity(request: web.Request) -> web.Response:
    endpoint = request.app[ENDPOINT_KEY]
    return web.json_response({'uuid': endpoint.uuid, 'name': endpoint.name})


async def _get(request: web.Request) -> web.StreamResponse:
    key, peer = _params(request)
    blob = await request.app[ENDPOINT_KEY].get(key, endpoint=peer)
    if blob is None:
        return _error(404, f'No object with key {key!r}.')
    return await write_blob(request, blob)


async def _set(request: web.Request) -> web.Response:
    key, peer = _params(request)
    endpoint = request.app[ENDPOINT_KEY]
    blob = await read_blob(
        request.content,
        request.content_length,
        endpoint.storage.max_object_size,
    )
    await endpoint.set(key, blob, endpoint=peer)
    return web.Response(text='ok')


async def _exists(request: web.Request) -> web.Response:
    key, peer = _params(request)
    found = await request.app[ENDPOINT_KEY].exists(key, endpoint=peer)
    return web.Response(
        body=_EXISTS_TRUE if found else _EXISTS_FALSE,
        content_type='application/json',
    )


async def _evict(request: web.Request) -> web.Response:
    key, peer = _params(request)
    await request.app[ENDPOINT_KEY].evict(key, endpoint=peer)
    return web.Response(text='ok')


async def _on_startup(app: web.Application) -> None:
    endpoint = app[ENDPOINT_KEY]
    if endpoint.peer_manager is not None:
        await endpoint.peer_manager.start()


async def _on_cleanup(app: web.Application) -> None:
    await app[ENDPOINT_KEY].close()


def create_app(
    endpoint: Endpoint,
    *,
    token: str | None = None,
) -> web.Application:
    """Create the aiohttp application serving `endpoint`.

    The app owns the endpoint: it starts the endpoint's peer manager on
    startup and closes the endpoint on cleanup.

    Args:
        endpoint: The endpoint to serve.
        token: Bearer token required on every route but `GET /`
            (`None` disables authentication).
    """
    app = web.Application()
    app[ENDPOINT_KEY] = endpoint
    app.router.add_get('/', _health)
    routes: list[tuple[str, str, Handler]] = [
        ('GET', '/endpoint', _identity),
        ('GET', '/get', _get),
        ('POST', '/set', _set),
        ('GET', '/exists', _exists),
        ('POST', '/evict', _evict),
    ]
    for method, path, handler in routes:
        app.router.add_route(method, path, _guard(handler, token))
    app.on_startup.append(_on_startup)
    app.on_cleanup.append(_on_cleanup)
    return app


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
    """
    app = create_app(create_endpoint(config), token=config.token)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, config.bind_host(), config.port)
        await site.start()
        logger.info(
            'Endpoint %s (%s) serving at %s',
            config.name,
            config.uuid,
            config.local_url(),
        )
        if stop is None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        logger.info('Endpoint %s shutting down', config.name)
    finally:
        await runner.cleanup()


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
    asyncio.run(run_server(config))
