"""Real relay servers, STUN responders and peer managers for p2p tests."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from typing import Any

import websockets.asyncio.server
from aioice import stun

from proxystore.p2p.manager import PeerManager
from proxystore.p2p.relay.authenticate import NullAuthenticator
from proxystore.p2p.relay.client import RelayClient
from proxystore.p2p.relay.config import RelayPeerDataConfig
from proxystore.p2p.relay.server import RelayServer


@contextlib.asynccontextmanager
async def relay_server(
    *,
    peer_data: bool = True,
    host: str = '127.0.0.1',
) -> AsyncIterator[tuple[str, RelayServer[Any]]]:
    """Run a relay on a free loopback port; yield `(address, server)`."""
    server: RelayServer[Any] = RelayServer(
        NullAuthenticator(),
        peer_data=RelayPeerDataConfig(
            enabled=peer_data,
            bytes_per_second=None,
        ),
    )
    async with websockets.asyncio.server.serve(
        server.handler,
        host,
        0,
        logger=None,
    ) as ws_server:
        port = next(iter(ws_server.sockets)).getsockname()[1]
        yield f'ws://{host}:{port}', server


def relay_client(address: str, name: str) -> RelayClient:
    """A relay client with a new UUID."""
    return RelayClient(
        address,
        client_name=name,
        client_uuid=uuid.uuid4(),
        reconnect_task=False,
    )


@contextlib.asynccontextmanager
async def peer_managers(
    address: str,
    count: int = 2,
    **kwargs: Any,
) -> AsyncIterator[list[PeerManager]]:
    """`count` initialized peer managers on the relay at `address`."""
    kwargs.setdefault('ice_servers', [])
    managers = [
        PeerManager(relay_client(address, f'peer{i}'), **kwargs)
        for i in range(count)
    ]
    try:
        for manager in managers:
            await manager.async_init()
        yield managers
    finally:
        for manager in managers:
            await manager.close()


@contextlib.asynccontextmanager
async def relayed_peers(
    *,
    peer_data: bool = True,
) -> AsyncIterator[tuple[RelayServer[Any], PeerManager, PeerManager]]:
    """Two peer managers on a fresh relay that cannot use WebRTC.

    The 'relay' transport policy without a TURN server leaves ICE no
    candidates, so their data takes the relayed path (if the relay
    forwards peer data). Yields `(relay, a, b)`.
    """
    async with (
        relay_server(peer_data=peer_data) as (address, relay),
        peer_managers(
            address,
            ice_transport_policy='relay',
            ice_timeout=30,
        ) as (a, b),
    ):
        yield relay, a, b


class StunResponder(asyncio.DatagramProtocol):
    """An RFC 5389 STUN server answering binding requests only.

    Built on aioice's STUN codec, independently of the client under test.
    Requests with attributes it does not know (such as CHANGE-REQUEST)
    are answered like any binding request.
    """

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.requests = 0

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            request = stun.parse_message(data)
        except ValueError:
            return
        if (
            request.message_class != stun.Class.REQUEST
            or request.message_method != stun.Method.BINDING
        ):
            return
        self.requests += 1
        response = stun.Message(
            message_method=stun.Method.BINDING,
            message_class=stun.Class.RESPONSE,
            transaction_id=request.transaction_id,
        )
        response.attributes['XOR-MAPPED-ADDRESS'] = addr
        assert self.transport is not None
        self.transport.sendto(bytes(response), addr)


@contextlib.asynccontextmanager
async def stun_responder(
    host: str = '127.0.0.1',
) -> AsyncIterator[tuple[tuple[str, int], StunResponder]]:
    """Run a STUN responder on a free UDP port of `host`."""
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.create_datagram_endpoint(
        StunResponder,
        local_addr=(host, 0),
        family=socket.AF_INET,
    )
    try:
        yield transport.get_extra_info('sockname')[:2], protocol
    finally:
        transport.close()


async def _serve_stun(addresses: list[tuple[str, int]]) -> None:
    loop = asyncio.get_running_loop()
    for host, port in addresses:
        await loop.create_datagram_endpoint(
            StunResponder,
            local_addr=(host, port),
            family=socket.AF_INET,
        )
    print('ready', flush=True)
    await asyncio.Event().wait()


if __name__ == '__main__':
    # python -m tests.p2p.helpers HOST:PORT [HOST:PORT ...]: STUN responders
    # (for network-namespace tests, where they run in another namespace).
    import sys

    servers = []
    for arg in sys.argv[1:]:
        host, _, port = arg.rpartition(':')
        servers.append((host, int(port)))
    asyncio.run(_serve_stun(servers))
