"""Relay server: a registry of live endpoints (aiohttp).

Routes:

- `GET /`: health check, `{"status": "ok"}`.
- `GET /register`: websocket; the endpoint sends
  `{"uuid", "name", "address"}` and keeps the socket open while alive.
- `GET /endpoints`: list of registered endpoints.
- `GET /endpoints/{uuid}`: one endpoint's registration, or 404.

An endpoint is forgotten as soon as its websocket closes, so lookups only
ever return endpoints that are running.
"""

from __future__ import annotations

import asyncio
import logging
import urllib.parse
from typing import Any

from aiohttp import WSMsgType
from aiohttp import web

from proxystore.endpoint.exceptions import InvalidKeyError
from proxystore.endpoint.hosting import run_app
from proxystore.endpoint.keys import validate_uuid

logger = logging.getLogger(__name__)


class Registry:
    """Live endpoints by UUID, each tied to its registration socket."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[dict[str, str], object]] = {}

    def add(self, info: dict[str, str], owner: object) -> None:
        """Register `info` (replacing an earlier registration)."""
        self._entries[info['uuid']] = (info, owner)

    def remove(self, uuid: str, owner: object) -> None:
        """Forget `uuid` if it is still registered by `owner`."""
        entry = self._entries.get(uuid)
        if entry is not None and entry[1] is owner:
            del self._entries[uuid]

    def get(self, uuid: str) -> dict[str, str] | None:
        """Return the registration of `uuid`, if live."""
        entry = self._entries.get(uuid)
        return None if entry is None else entry[0]

    def all(self) -> list[dict[str, str]]:
        """Return every live registration."""
        return [info for info, _ in self._entries.values()]


REGISTRY_KEY: web.AppKey[Registry] = web.AppKey('registry', Registry)
"""App key under which `create_relay_app` stores the `Registry`."""


def parse_registration(message: Any) -> dict[str, str]:
    """Validate a registration message.

    Raises:
        ValueError: If a field is missing or malformed.
    """
    if not isinstance(message, dict):
        raise ValueError('Registration must be a JSON object.')
    try:
        uuid = validate_uuid(message['uuid'])
        name = str(message['name'])
        address = str(message['address'])
    except (KeyError, InvalidKeyError) as e:
        raise ValueError(f'Invalid registration: {e}') from None
    parts = urllib.parse.urlsplit(address)
    if parts.scheme not in ('http', 'https') or not parts.hostname:
        raise ValueError(f'Invalid endpoint address {address!r}.')
    return {'uuid': uuid, 'name': name, 'address': address}


async def _health(request: web.Request) -> web.Response:
    return web.json_response({'status': 'ok'})


async def _register(request: web.Request) -> web.WebSocketResponse:
    registry = request.app[REGISTRY_KEY]
    ws = web.WebSocketResponse(heartbeat=30)
    await ws.prepare(request)
    try:
        info = parse_registration(await ws.receive_json(timeout=10))
    except (ValueError, TypeError, asyncio.TimeoutError) as e:
        await ws.send_json({'status': 'error', 'message': str(e)})
        await ws.close()
        return ws
    registry.add(info, ws)
    logger.info('Registered %s (%s) at %s', *info.values())
    await ws.send_json({'status': 'registered'})
    try:
        async for message in ws:
            if message.type == WSMsgType.ERROR:
                break
    finally:
        registry.remove(info['uuid'], ws)
        logger.info('Unregistered %s', info['uuid'])
    return ws


async def _list(request: web.Request) -> web.Response:
    return web.json_response(request.app[REGISTRY_KEY].all())


async def _lookup(request: web.Request) -> web.Response:
    try:
        uuid = validate_uuid(request.match_info['uuid'])
    except InvalidKeyError as e:
        return web.Response(status=400, text=str(e))
    info = request.app[REGISTRY_KEY].get(uuid)
    if info is None:
        return web.Response(status=404, text=f'Unknown endpoint {uuid}.')
    return web.json_response(info)


def create_relay_app() -> web.Application:
    """Create the relay's aiohttp application."""
    app = web.Application()
    app[REGISTRY_KEY] = Registry()
    app.router.add_get('/', _health)
    app.router.add_get('/register', _register)
    app.router.add_get('/endpoints', _list)
    app.router.add_get('/endpoints/{uuid}', _lookup)
    return app


async def run_relay(
    host: str,
    port: int,
    stop: asyncio.Event | None = None,
) -> None:
    """Serve the relay on `host:port` until `stop` is set.

    Without a `stop` event, SIGINT and SIGTERM stop the relay.
    """
    logger.info('Relay starting at %s:%d', host, port)
    await run_app(create_relay_app(), host, port, stop, shutdown_timeout=1)
