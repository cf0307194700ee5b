"""Direct HTTP forwarding of peer requests (the fastest peering path).

A peer that tells us its HTTP address (in its WebRTC session description,
see `proxystore.p2p.connection.ENDPOINT_ADDRESS_ATTRIBUTE`) may be
reachable directly: on the same host, on a LAN, or on a public address.
`DirectPeers` then sends the `EndpointRequest` as the equivalent HTTP
request to the peer's own routes (the peer serves it from its storage),
which is far faster than a data channel.

Before the first request, the address is checked: `GET /endpoint` must
answer with the peer's UUID. The bearer token of this endpoint is sent
only to loopback or `https://` addresses, never in clear text across a
network. Any failure to use the address (unreachable, refused, 401, 5xx,
wrong UUID) raises `DirectPathUnavailableError`, and the caller falls
back to the peer connection.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import urllib.parse
import uuid as uuid_module
from typing import Any

import aiohttp

from proxystore.endpoint.exceptions import InvalidKeyError
from proxystore.endpoint.exceptions import ObjectSizeExceededError
from proxystore.endpoint.messages import EndpointRequest

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0
"""Seconds to wait for a peer's `GET /endpoint` answer."""

_ROUTES = {
    'evict': ('POST', 'evict'),
    'exists': ('GET', 'exists'),
    'get': ('GET', 'get'),
    'set': ('POST', 'set'),
}


class DirectPathUnavailableError(Exception):
    """A peer's HTTP address cannot be used (fall back to the connection)."""


def is_private_transport(address: str) -> bool:
    """Whether `address` is `https://` or on a loopback host."""
    parts = urllib.parse.urlsplit(address)
    if parts.scheme == 'https':
        return True
    host = parts.hostname or ''
    if host == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DirectPeers:
    """Sends peer requests straight to the peers' HTTP servers.

    Args:
        token: Bearer token of this endpoint, offered to peers (only over
            loopback or HTTPS).
        timeout: Seconds for one request (the body may be large).
    """

    def __init__(
        self,
        token: str | None = None,
        timeout: float = 300,
    ) -> None:
        self.token = token
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None
        self._verified: dict[uuid_module.UUID, str] = {}

    def _headers(self, address: str) -> dict[str, str]:
        if self.token is None or not is_private_transport(address):
            return {}
        return {'Authorization': f'Bearer {self.token}'}

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout),
            )
        return self._session

    async def _verify(self, peer: uuid_module.UUID, address: str) -> None:
        if self._verified.get(peer) == address:
            return
        session = self._get_session()
        try:
            async with session.get(
                f'{address}/endpoint',
                headers=self._headers(address),
                timeout=aiohttp.ClientTimeout(total=PROBE_TIMEOUT),
            ) as response:
                if response.status != 200:
                    raise DirectPathUnavailableError(
                        f'{address} answered {response.status} to '
                        'GET /endpoint',
                    )
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
            raise DirectPathUnavailableError(
                f'{address} is unreachable: {e!r}',
            ) from e
        except ValueError as e:
            raise DirectPathUnavailableError(
                f'{address} sent malformed JSON: {e}',
            ) from e
        if not isinstance(body, dict) or str(body.get('uuid')) != str(peer):
            raise DirectPathUnavailableError(
                f'{address} is not endpoint {peer}.',
            )
        self._verified[peer] = address

    async def request(
        self,
        peer: uuid_module.UUID,
        address: str,
        request: EndpointRequest,
    ) -> EndpointRequest:
        """Run `request` on the peer at `address`; return the response.

        An error of the operation (e.g. the object is too large) is set
        in the response's `error`, as a peer connection would.

        Raises:
            DirectPathUnavailableError: If the address cannot be used.
        """
        await self._verify(peer, address)
        method, route = _ROUTES[request.op]
        session = self._get_session()
        response = EndpointRequest(
            kind='response',
            op=request.op,
            uuid=request.uuid,
            key=request.key,
        )
        try:
            async with session.request(
                method,
                f'{address}/{route}',
                params={'key': request.key},
                data=request.data,
                headers=self._headers(address),
            ) as answer:
                status = answer.status
                if status == 200 and request.op == 'get':
                    response.data = await answer.read()
                elif status == 200 and request.op == 'exists':
                    body: Any = await answer.json(content_type=None)
                    response.exists = bool(body['exists'])
                elif status == 404 and request.op == 'get':
                    response.data = None
                elif status == 413:
                    response.error = ObjectSizeExceededError(
                        await answer.text(),
                    )
                elif status == 400:
                    response.error = InvalidKeyError(await answer.text())
                elif status != 200:
                    raise DirectPathUnavailableError(
                        f'{address} answered {status}: {await answer.text()}',
                    )
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as e:
            self._verified.pop(peer, None)
            raise DirectPathUnavailableError(
                f'{address} failed: {e!r}',
            ) from e
        except (ValueError, KeyError, TypeError) as e:
            raise DirectPathUnavailableError(
                f'{address} sent a malformed answer: {e!r}',
            ) from e
        return response

    async def close(self) -> None:
        """Close the HTTP session (idempotent)."""
        if self._session is not None:
            await self._session.close()
            self._session = None


class PeerManager:
    """Removed: the HTTP-forwarding peer manager of earlier versions.

    Peering now goes through `proxystore.p2p.manager.PeerManager`; this
    name only remains so old import paths fail with a clear message.

    Raises:
        ImportError: Always.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise ImportError(
            'Endpoint peering needs proxystore.p2p (aiortc and websockets): '
            'install with "pip install proxystore[endpoints]".',
        )
