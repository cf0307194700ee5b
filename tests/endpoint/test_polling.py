"""Polling before blocking: the client's socket poll and the server loop."""

from __future__ import annotations

import asyncio
import selectors
import socket

from proxystore.endpoint.polling import PollingSelector
from proxystore.endpoint.polling import new_event_loop
from proxystore.endpoint.polling import wait_readable


def test_wait_readable_leaves_data_unread() -> None:
    left, right = socket.socketpair()
    with left, right:
        right.sendall(b'answer')
        wait_readable(left)
        assert left.recv(100) == b'answer'


def test_wait_readable_gives_up_without_data() -> None:
    left, right = socket.socketpair()
    with left, right:
        # Nothing arrives: the poll ends on its own and consumes nothing.
        wait_readable(left, 0.001)
        right.sendall(b'late')
        assert left.recv(100) == b'late'
        right.close()
        wait_readable(left)  # end of stream ends the poll too
        assert left.recv(100) == b''
    wait_readable(left)  # so does an error (closed socket)


def test_polling_selector_reports_events_and_timeouts() -> None:
    left, right = socket.socketpair()
    with left, right, PollingSelector() as selector:
        selector.register(left, selectors.EVENT_READ, 'left')
        assert selector.select(0.001) == []  # polls, then waits, then []
        right.sendall(b'x')
        ready = selector.select(None)
        assert [(key.data, events) for key, events in ready] == [
            ('left', selectors.EVENT_READ),
        ]


def test_new_event_loop_serves_sockets() -> None:
    async def echo_once() -> bytes:
        async def handle(
            reader: asyncio.StreamReader,
            writer: asyncio.StreamWriter,
        ) -> None:
            writer.write(await reader.readexactly(4))
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, '127.0.0.1', 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        writer.write(b'ping')
        answer = await reader.read()
        writer.close()
        server.close()
        await server.wait_closed()
        return answer

    loop = new_event_loop()
    try:
        assert loop.run_until_complete(echo_once()) == b'ping'
    finally:
        loop.close()
