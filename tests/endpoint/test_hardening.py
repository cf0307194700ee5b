"""Security findings against the endpoint server, each on a real server.

The server runs in a background thread of this process on a loopback port
(the same `EndpointHandlers` and `HTTPProtocol` that `serve` uses), so
short timeouts can be set and server-side memory inspected.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from proxystore.endpoint.endpoint import Endpoint
from proxystore.endpoint.handlers import EndpointHandlers
from proxystore.endpoint.storage import ChunkedBlob
from proxystore.endpoint.storage import DictStorage

LIMIT = 10_000
TOKEN = 'hardening-token'
HEADER_TIMEOUT = 0.3
BODY_TIMEOUT = 0.5
WAIT = 20.0
"""Socket timeout: only reached if the server never answers (a failure)."""


class Server:
    """An endpoint server on a loopback port, in a background thread."""

    def __init__(self, **options: Any) -> None:
        self.storage = DictStorage(max_object_size=LIMIT)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.options = options
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(WAIT)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        endpoint = Endpoint(
            'hardening',
            uuid.uuid4(),
            storage=self.storage,
        )
        self.handlers = EndpointHandlers(endpoint, **self.options)
        server = self.loop.run_until_complete(
            self.loop.create_server(self.handlers.protocol, '127.0.0.1', 0),
        )
        self.port = server.sockets[0].getsockname()[1]
        self.ready.set()
        self.loop.run_forever()
        server.close()
        self.handlers.close_connections()
        self.loop.run_until_complete(server.wait_closed())
        self.loop.close()

    def connect(self) -> socket.socket:
        sock = socket.create_connection(('127.0.0.1', self.port), WAIT)
        return sock

    def open_connections(self) -> int:
        done = threading.Event()
        count = []

        def measure() -> None:
            count.append(len(self.handlers.connections))
            done.set()

        self.loop.call_soon_threadsafe(measure)
        assert done.wait(WAIT)
        return count[0]

    def wait_until_no_connections(self) -> None:
        # Connections answered 408 linger briefly to drain, then close.
        while self.open_connections():
            time.sleep(0.05)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(WAIT)


@pytest.fixture
def server() -> Iterator[Server]:
    running = Server(
        header_timeout=HEADER_TIMEOUT,
        body_timeout=BODY_TIMEOUT,
    )
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def token_server() -> Iterator[Server]:
    running = Server(token=TOKEN)
    try:
        yield running
    finally:
        running.stop()


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    reader = sock.makefile('rb')
    status_line = reader.readline()
    assert status_line, 'server closed without answering'
    status = int(status_line.split()[1])
    headers = {}
    while (line := reader.readline()) not in (b'\r\n', b''):
        name, _, value = line.decode().partition(':')
        headers[name.strip().lower()] = value.strip()
    body = reader.read(int(headers.get('content-length', 0)))
    return status, headers, body


def closed(sock: socket.socket) -> bool:
    """Wait until the server closes `sock` (True) or sends data (False)."""
    try:
        while True:
            data = sock.recv(65536)
            if not data:
                return True
            if b'408' not in data and b'HTTP/1.1' not in data:
                return False
    except ConnectionResetError:
        return True


@pytest.mark.timeout(60)
def test_half_open_connections_are_closed(server: Server) -> None:
    # Found: 800 half-open connections stayed open indefinitely.
    silent = [server.connect() for _ in range(50)]
    partial = [server.connect() for _ in range(50)]
    for sock in partial:
        sock.sendall(b'GET /exists?key=a HTTP/1.1\r\nHost: x\r\n')
    try:
        assert all(closed(sock) for sock in silent + partial)
    finally:
        for sock in silent + partial:
            sock.close()
    server.wait_until_no_connections()


@pytest.mark.timeout(60)
def test_partial_head_gets_408(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b'GET /exists?key=a HTTP/1.1\r\nHost: x\r\n')
        status, headers, _ = read_response(sock)
        assert status == 408
        assert headers['connection'] == 'close'


@pytest.mark.timeout(60)
def test_idle_keep_alive_connection_is_closed(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b'GET /exists?key=a HTTP/1.1\r\nHost: x\r\n\r\n')
        assert read_response(sock)[0] == 200
        assert closed(sock)


@pytest.mark.timeout(60)
def test_slow_body_is_cut_off(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(
            b'POST /set?key=slow HTTP/1.1\r\nHost: x\r\n'
            b'Content-Length: 100\r\n\r\n' + b'x' * 10,
        )
        status, _, _ = read_response(sock)
        assert status == 408
    server.wait_until_no_connections()
    assert (
        asyncio.run_coroutine_threadsafe(
            server.storage.exists('slow'),
            server.loop,
        ).result(WAIT)
        is False
    )


@pytest.mark.timeout(60)
@pytest.mark.parametrize('expect', [True, False])
def test_oversize_upload_is_refused_before_its_body(
    server: Server,
    expect: bool,
) -> None:
    # Found: an upload over the limit got no early 413 (the server waited
    # for, and read, the whole body first).
    head = (
        b'POST /set?key=big HTTP/1.1\r\nHost: x\r\n'
        b'Content-Length: %d\r\n' % (LIMIT + 1)
    )
    if expect:
        head += b'Expect: 100-continue\r\n'
    with server.connect() as sock:
        sock.sendall(head + b'\r\n')  # no body sent
        status, headers, body = read_response(sock)
        assert status == 413
        assert b'exceeds' in body
        assert headers['connection'] == 'close'
        if not expect:
            sock.sendall(b'y' * (LIMIT + 1))  # drained, then closed
        assert closed(sock)
    assert (
        asyncio.run_coroutine_threadsafe(
            server.storage.exists('big'),
            server.loop,
        ).result(WAIT)
        is False
    )


@pytest.mark.timeout(60)
def test_unknown_expectation_is_417(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(
            b'POST /set?key=e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n'
            b'Expect: something-else\r\n\r\n',
        )
        assert read_response(sock)[0] == 417


@pytest.mark.timeout(60)
def test_refused_token_is_answered_before_the_body(
    token_server: Server,
) -> None:
    with token_server.connect() as sock:
        sock.sendall(
            b'POST /set?key=k HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n'
            b'Expect: 100-continue\r\n\r\n',
        )
        status, _, body = read_response(sock)
        assert status == 401
        assert b'bearer token' in body


@pytest.mark.timeout(60)
def test_accepted_expect_continue_gets_100(token_server: Server) -> None:
    with token_server.connect() as sock:
        sock.sendall(
            b'POST /set?key=k HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n'
            b'Authorization: Bearer ' + TOKEN.encode() + b'\r\n'
            b'Expect: 100-continue\r\n\r\n',
        )
        assert sock.recv(25) == b'HTTP/1.1 100 Continue\r\n\r\n'
        sock.sendall(b'hello')
        assert read_response(sock)[0] == 200


@pytest.mark.timeout(60)
def test_tiny_chunks_cost_about_their_size(server: Server) -> None:
    # Found: 1-byte chunked uploads cost ~8x their size in server memory
    # (one Python bytes object per chunk).
    count = LIMIT
    body = b''.join(b'1\r\n%c\r\n' % (65 + i % 26) for i in range(count))
    with server.connect() as sock:
        sock.sendall(
            b'POST /set?key=tiny HTTP/1.1\r\nHost: x\r\n'
            b'Transfer-Encoding: chunked\r\n\r\n' + body + b'0\r\n\r\n',
        )
        assert read_response(sock)[0] == 200
    blob = asyncio.run_coroutine_threadsafe(
        server.storage.get('tiny'),
        server.loop,
    ).result(WAIT)
    assert blob is not None
    assert bytes(blob) == bytes(65 + i % 26 for i in range(count))
    pieces = blob.chunks if isinstance(blob, ChunkedBlob) else [blob]
    held = sum(sys.getsizeof(piece) for piece in pieces)
    assert held < 1.1 * count + 1024


@pytest.mark.timeout(60)
def test_chunked_upload_over_limit_is_refused_and_dropped(
    server: Server,
) -> None:
    with server.connect() as sock:
        sock.sendall(
            b'POST /set?key=grow HTTP/1.1\r\nHost: x\r\n'
            b'Transfer-Encoding: chunked\r\n\r\n'
            + b'%x\r\n' % (LIMIT + 1)
            + b'z' * (LIMIT + 1)
            + b'\r\n0\r\n\r\n',
        )
        status, _, body = read_response(sock)
        assert status == 413
        assert b'exceeds' in body
    assert (
        asyncio.run_coroutine_threadsafe(
            server.storage.exists('grow'),
            server.loop,
        ).result(WAIT)
        is False
    )


@pytest.mark.timeout(60)
def test_nothing_is_answered_after_an_early_refusal(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(
            b'POST /set?key=big HTTP/1.1\r\nHost: x\r\n'
            b'Content-Length: %d\r\n\r\n'
            % (LIMIT + 1)
            + b'y' * (LIMIT + 1)
            + b'GET /exists?key=big HTTP/1.1\r\nHost: x\r\n\r\n',
        )
        reader = sock.makefile('rb')
        assert reader.readline().startswith(b'HTTP/1.1 413')
        rest = reader.read()  # until the server closes
        assert b'HTTP/1.1' not in rest


@pytest.mark.timeout(60)
def test_connections_over_the_cap_get_503_and_data_is_kept() -> None:
    # A flood of idle connections must not exhaust the file descriptors:
    # past the cap, new connections are answered 503 and closed, while
    # the connections already open keep working and stored data stays.
    server = Server(max_connections=5)
    held = [server.connect() for _ in range(5)]
    try:
        first = held[0]
        first.sendall(
            b'POST /set?key=kept HTTP/1.1\r\nHost: x\r\n'
            b'Content-Length: 4\r\n\r\ndata',
        )
        assert read_response(first)[0] == 200
        while server.open_connections() < 5:
            time.sleep(0.01)
        with server.connect() as extra:
            status, headers, body = read_response(extra)
            assert status == 503
            assert headers['connection'] == 'close'
            assert b'Too many open connections (limit 5)' in body
            assert closed(extra)
        first.sendall(b'GET /get?key=kept HTTP/1.1\r\nHost: x\r\n\r\n')
        assert read_response(first)[::2] == (200, b'data')
        assert server.open_connections() == 5
    finally:
        for sock in held:
            sock.close()
        server.stop()
