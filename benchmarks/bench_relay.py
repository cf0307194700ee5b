"""Relay benchmarks: relayed peer data (`peer_data`) through the relay.

Rows:
- Forwarding a burst of `peer_data` frames (256 KiB chunks, base64) from
  one client to another through `RelayServer` (decode, checks, metering,
  encode), against the physical limit: a bare websocket forwarder on the
  same library that passes each frame on untouched. Rounds alternate
  between the two, all on loopback in one event loop.
"""

from __future__ import annotations

import asyncio
import base64
import os
import time
import uuid
from collections.abc import Awaitable
from collections.abc import Callable
from typing import Any

import websockets.asyncio.client
import websockets.asyncio.server

from benchmarks.common import Row
from benchmarks.common import ratio_row
from proxystore.p2p.relay.authenticate import NullAuthenticator
from proxystore.p2p.relay.config import RelayPeerDataConfig
from proxystore.p2p.relay.messages import PeerDataMessage
from proxystore.p2p.relay.messages import RelayRegistrationRequest
from proxystore.p2p.relay.messages import encode_relay_message
from proxystore.p2p.relay.server import RelayServer

SECTION = 'relay'
CHUNK_BYTES = 2**18  # proxystore.p2p.connection.RELAYED_CHUNK_SIZE


async def _raw_forwarder() -> tuple[Any, str]:
    peers: dict[str, Any] = {}

    async def handler(ws: websockets.asyncio.server.ServerConnection) -> None:
        role = await ws.recv()
        peers[str(role)] = ws
        if role == 'a':
            async for frame in ws:
                await peers['b'].send(frame)
        else:
            await ws.wait_closed()

    server = await websockets.asyncio.server.serve(
        handler,
        '127.0.0.1',
        0,
        compression=None,
    )
    return server, f'ws://127.0.0.1:{server.sockets[0].getsockname()[1]}'


async def _relay() -> tuple[Any, str]:
    relay = RelayServer(
        NullAuthenticator(),
        peer_data=RelayPeerDataConfig(bytes_per_second=None),
    )
    server = await websockets.asyncio.server.serve(
        relay.handler,
        '127.0.0.1',
        0,
        compression=None,  # as proxystore.p2p.relay.run.serve
    )
    return server, f'ws://127.0.0.1:{server.sockets[0].getsockname()[1]}'


async def _pair(address: str, relay: bool) -> tuple[Any, Any, str]:
    a = await websockets.asyncio.client.connect(address)
    b = await websockets.asyncio.client.connect(address)
    a_uuid, b_uuid = uuid.uuid4(), uuid.uuid4()
    if relay:
        for ws, u in ((a, a_uuid), (b, b_uuid)):
            await ws.send(
                encode_relay_message(RelayRegistrationRequest('bench', u)),
            )
            await ws.recv()
    else:
        await b.send('b')
        await asyncio.sleep(0.05)
        await a.send('a')
    data = base64.b64encode(os.urandom(CHUNK_BYTES)).decode()
    frame = encode_relay_message(PeerDataMessage(a_uuid, b_uuid, data))
    return a, b, frame


def _burst(
    a: Any,
    b: Any,
    frame: str,
    count: int,
) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        async def send() -> None:
            for _ in range(count):
                await a.send(frame)

        sender = asyncio.create_task(send())
        for _ in range(count):
            await b.recv()
        await sender

    return run


async def _best(
    cases: list[Callable[[], Awaitable[None]]],
    repeat: int,
) -> list[float]:
    best = [float('inf')] * len(cases)
    for _ in range(repeat):
        for index, case in enumerate(cases):
            start = time.perf_counter()
            await case()
            best[index] = min(best[index], time.perf_counter() - start)
    return best


async def _main(quick: bool) -> list[Row]:
    count = 32 if quick else 256
    repeat = 3 if quick else 7
    raw_server, raw_address = await _raw_forwarder()
    relay_server, relay_address = await _relay()
    try:
        raw = await _pair(raw_address, relay=False)
        ours = await _pair(relay_address, relay=True)
        raw_time, relay_time = await _best(
            [_burst(*raw, count), _burst(*ours, count)],
            repeat,
        )
        for ws in (*raw[:2], *ours[:2]):
            await ws.close()
    finally:
        raw_server.close()
        relay_server.close()
    row = ratio_row(
        SECTION,
        f'peer_data forwarding, {count} x 256 KiB chunks',
        relay_time,
        raw_time,
        2.0,
        'bare websocket forwarder',
    )
    mib = count * CHUNK_BYTES / (1 << 20)
    row.detail += f'; {mib / relay_time:.0f} MiB/s of chunk payload'
    return [row]


def run(quick: bool = False) -> list[Row]:
    """Run the relay section."""
    return asyncio.run(_main(quick))
