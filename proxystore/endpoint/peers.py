"""Peering: find other endpoints through a relay and forward to them.

Each endpoint with a relay configured keeps a websocket open to the relay
server (see `proxystore.endpoint.relay`) announcing its UUID and public
address; the relay forgets it when the socket closes. To serve a request
naming another endpoint, the `PeerManager` looks the peer up on the relay
and forwards the request directly to the peer over HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import urllib.parse
from typing import Any

import aiohttp

from proxystore.endpoint.exceptions import MalformedRequestError
from proxystore.endpoint.exceptions import ObjectSizeExceededError
from proxystore.endpoint.exceptions import PeerUnavailableError
from proxystore.endpoint.storage import Blob
from proxystore.endpoint.storage import ChunkedBlob
from proxystore.endpoint.streams import iter_chunks
from proxystore.endpoint.streams import read_blob

logger = logging.getLogger(__name__)


def relay_urls(address: str) -> tuple[str, str]:
    """Return the (HTTP base URL, websocket register URL) of a relay.

    `address` may use `http`, `https`, `ws` or `wss`, or be `host:port`.
    """
    if '://' not in address:
        address = f'http://{address}'
    parts = urllib.parse.urlsplit(address)
    secure = parts.scheme in ('https', 'wss')
    base = f'{"https" if secure else "http"}://{parts.netloc}'
    websocket = f'{"wss" if secure else "ws"}://{parts.netloc}/register'
    return base, websocket


class PeerManager:
    """Registers this endpoint with a relay and forwards requests to peers.

    Args:
        relay_address: Address of the relay server.
        uuid: UUID of this endpoint.
        name: Name of this endpoint.
        address: Base URL peers use to reach this endpoint.
        token: Bearer token sent to peers (peers must share it).
        reconnect_interval: Seconds between attempts to reach the relay.
    """

    def __init__(
        self,
        relay_address: str,
        *,
        uuid: str,
        name: str,
        address: str,
        token: str | None = None,
        reconnect_interval: float = 1.0,
    ) -> None:
        self.relay_url, self._register_url = relay_urls(relay_address)
        self.uuid = uuid
        self.name = name
        self.address = address
        self.reconnect_interval = reconnect_interval
        self._headers = (
            {'Authorization': f'Bearer {token}'} if token is not None else {}
        )
        self._session: aiohttp.ClientSession | None = None
        self._task: asyncio.Task[None] | None = None
        self._addresses: dict[str, str] = {}
        self.registered = asyncio.Event()

    async def start(self) -> None:
        """Open the HTTP session and start registering with the relay."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._task = asyncio.create_task(self._register_forever())

    async def close(self) -> None:
        """Stop registering and close the HTTP session."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _register_forever(self) -> None:
        assert self._session is not None
        announcement = {
            'uuid': self.uuid,
            'name': self.name,
            'address': self.address,
        }
        while True:
            try:
                async with self._session.ws_connect(
                    self._register_url,
                    heartbeat=30,
                ) as ws:
                    await ws.send_json(announcement)
                    reply = await ws.receive_json()
                    if reply.get('status') != 'registered':
                        logger.error('Relay refused registration: %s', reply)
                    else:
                        logger.info('Registered with %s', self.relay_url)
                        self.registered.set()
                    async for _ in ws:
                        pass
            except (aiohttp.ClientError, OSError, ValueError, TypeError) as e:
                logger.warning('Relay %s unreachable: %s', self.relay_url, e)
            self.registered.clear()
            await asyncio.sleep(self.reconnect_interval)

    def _require_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise PeerUnavailableError('Peer manager is not started.')
        return self._session

    async def lookup(self, peer: str) -> str:
        """Return the base URL of endpoint `peer` (asks the relay once).

        Raises:
            PeerUnavailableError: If the relay is unreachable or does not
                know the peer.
        """
        if peer in self._addresses:
            return self._addresses[peer]
        session = self._require_session()
        url = f'{self.relay_url}/endpoints/{peer}'
        try:
            async with session.get(url) as response:
                if response.status == 404:
                    raise PeerUnavailableError(
                        f'Peer endpoint {peer} is not registered with the '
                        f'relay at {self.relay_url}.',
                    )
                response.raise_for_status()
                address: str = (await response.json())['address']
        except (aiohttp.ClientError, OSError) as e:
            raise PeerUnavailableError(
                f'Relay at {self.relay_url} is unreachable: {e}',
            ) from e
        self._addresses[peer] = address
        return address

    async def _request(
        self,
        method: str,
        peer: str,
        route: str,
        key: str,
        data: Blob | None = None,
    ) -> Any:
        """Send one request to `peer`; return the blob/JSON/None answer."""
        session = self._require_session()
        params = {'key': key, 'endpoint': peer}
        for attempt in range(2):
            body: Any = data
            if isinstance(data, ChunkedBlob):
                # A generator is consumed by the first attempt: make anew.
                body = iter_chunks(data)
            address = await self.lookup(peer)
            try:
                async with session.request(
                    method,
                    f'{address}/{route}',
                    params=params,
                    data=body,
                    headers=self._headers,
                ) as response:
                    return await self._answer(peer, route, response)
            except (aiohttp.ClientConnectionError, OSError) as e:
                # The peer may have moved: forget it and ask the relay again.
                self._addresses.pop(peer, None)
                if attempt == 1:
                    raise PeerUnavailableError(
                        f'Peer endpoint {peer} at {address} is '
                        f'unreachable: {e}',
                    ) from e
        raise AssertionError('unreachable')

    async def _answer(
        self,
        peer: str,
        route: str,
        response: aiohttp.ClientResponse,
    ) -> Any:
        if response.status == 404 and route == 'get':
            return None
        if response.status == 413:
            raise ObjectSizeExceededError(await response.text())
        if response.status == 400:
            raise MalformedRequestError(await response.text())
        if response.status != 200:
            raise PeerUnavailableError(
                f'Peer endpoint {peer} answered {response.status}: '
                f'{await response.text()}',
            )
        if route == 'get':
            return await read_blob(response.content, response.content_length)
        if route == 'exists':
            return (await response.json())['exists']
        return None

    async def evict(self, peer: str, key: str) -> None:
        """Evict `key` on endpoint `peer`."""
        await self._request('POST', peer, 'evict', key)

    async def exists(self, peer: str, key: str) -> bool:
        """Check if `key` exists on endpoint `peer`."""
        found: bool = await self._request('GET', peer, 'exists', key)
        return found

    async def get(self, peer: str, key: str) -> Blob | None:
        """Get the blob for `key` from endpoint `peer` (`None` if missing)."""
        blob: Blob | None = await self._request('GET', peer, 'get', key)
        return blob

    async def set(self, peer: str, key: str, blob: Blob) -> None:
        """Store `blob` under `key` on endpoint `peer`."""
        await self._request('POST', peer, 'set', key, data=blob)
