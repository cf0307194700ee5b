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

from proxystore.endpoint import client
from proxystore.endpoint.exceptions import EndpointBadRequestError
from proxystore.endpoint.exceptions import EndpointObjectSizeError
from proxystore.endpoint.exceptions import EndpointRequestError
from proxystore.endpoint.messages import EndpointRequest
from proxystore.endpoint.session import EndpointSession

logger = logging.getLogger(__name__)

PROBE_TIMEOUT = 2.0
"""Seconds to wait for a peer's `GET /endpoint` answer."""


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

    Requests run the blocking endpoint client (`proxystore.endpoint.client`
    with a keep-alive `EndpointSession` per peer address) in worker
    threads, which moves large objects several times faster than an
    asyncio HTTP client.

    Args:
        token: Bearer token of this endpoint, offered to peers (only over
            loopback or HTTPS).
        timeout: Socket timeout in seconds for one request.
    """

    def __init__(
        self,
        token: str | None = None,
        timeout: float = 300,
    ) -> None:
        self.token = token
        self.timeout = timeout
        self._sessions: dict[str, EndpointSession] = {}
        self._verified: dict[uuid_module.UUID, str] = {}

    def _session(self, address: str) -> EndpointSession:
        session = self._sessions.get(address)
        if session is None:
            token = self.token if is_private_transport(address) else None
            session = EndpointSession(
                address,
                token=token,
                timeout=self.timeout,
            )
            self._sessions[address] = session
        return session

    def _verify(self, peer: uuid_module.UUID, address: str) -> None:
        if self._verified.get(peer) == address:
            return
        try:
            with EndpointSession(
                address,
                token=self.token if is_private_transport(address) else None,
                timeout=PROBE_TIMEOUT,
            ) as probe:
                identity = client.identity(address, probe)
        except (EndpointRequestError, OSError, ValueError) as e:
            raise DirectPathUnavailableError(
                f'{address} is unreachable or refused: {e}',
            ) from e
        if str(identity.get('uuid')) != str(peer):
            raise DirectPathUnavailableError(
                f'{address} is not endpoint {peer}.',
            )
        self._verified[peer] = address

    def _run(
        self,
        peer: uuid_module.UUID,
        address: str,
        request: EndpointRequest,
    ) -> Any:
        self._verify(peer, address)
        session = self._session(address)
        key = request.key
        try:
            if request.op == 'get':
                return client.get(address, key, session=session)
            if request.op == 'exists':
                return client.exists(address, key, session=session)
            if request.op == 'evict':
                return client.evict(address, key, session=session)
            assert request.data is not None
            return client.put(address, key, request.data, session=session)
        except (EndpointObjectSizeError, EndpointBadRequestError):
            raise
        except (EndpointRequestError, OSError, ValueError, KeyError) as e:
            self._verified.pop(peer, None)
            raise DirectPathUnavailableError(f'{address} failed: {e}') from e

    async def run(
        self,
        peer: uuid_module.UUID,
        address: str,
        request: EndpointRequest,
    ) -> Any:
        """Run `request` on the peer at `address`; return its result.

        The result is what the local operation returns: the object (or
        `None`) for `get`, a bool for `exists`, `None` otherwise.

        Raises:
            DirectPathUnavailableError: If the address cannot be used.
            ObjectSizeExceededError: If the peer refused a too large
                object (`EndpointObjectSizeError`).
            MalformedRequestError: If the peer refused the request as
                malformed (`EndpointBadRequestError`).
        """
        return await asyncio.to_thread(self._run, peer, address, request)

    async def close(self) -> None:
        """Close the sessions (idempotent)."""
        sessions, self._sessions = self._sessions, {}
        for session in sessions.values():
            session.close()


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
