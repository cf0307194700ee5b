"""EndpointSession's HTTP handling against a scripted socket server."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from proxystore.endpoint.exceptions import EndpointRequestError
from proxystore.endpoint.session import EndpointSession


class ScriptedServer:
    """Answers each connection's requests with the next canned replies.

    `replies` is a list of connections; each is a list of raw responses
    sent one per request read. After its replies the connection closes.
    """

    def __init__(self, replies: list[list[bytes]]) -> None:
        self.replies = replies
        self.requests: list[bytes] = []
        self.sock = socket.socket()
        self.sock.bind(('127.0.0.1', 0))
        self.sock.listen()
        self.address = f'http://127.0.0.1:{self.sock.getsockname()[1]}'
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _read_request(self, conn: socket.socket) -> bytes:
        data = b''
        while b'\r\n\r\n' not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b'\r\n\r\n')
        length = 0
        for line in head.split(b'\r\n')[1:]:
            name, _, value = line.partition(b':')
            if name.lower() == b'content-length':
                length = int(value)
        while len(body) < length:
            body += conn.recv(65536)
        return head + b'\r\n\r\n' + body

    def _serve(self) -> None:
        for replies in self.replies:
            conn, _ = self.sock.accept()
            with conn:
                for reply in replies:
                    self.requests.append(self._read_request(conn))
                    conn.sendall(reply)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def scripted() -> Iterator[type[ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def make(replies: list[list[bytes]]) -> ScriptedServer:
        server = ScriptedServer(replies)
        servers.append(server)
        return server

    yield make  # type: ignore[misc]
    for server in servers:
        server.close()


OK = b'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'


def test_sends_token_host_and_body(scripted: type[ScriptedServer]) -> None:
    server = scripted([[OK]])
    with EndpointSession(server.address, token='t0k') as session:
        assert session.request('POST', '/set?key=a', bytearray(b'xyz')) == (
            200,
            b'ok',
        )
    request = server.requests[0]
    assert request.startswith(b'POST /set?key=a HTTP/1.1\r\n')
    assert b'Authorization: Bearer t0k\r\n' in request
    assert b'Content-Length: 3\r\n' in request
    assert request.endswith(b'\r\n\r\nxyz')


def test_chunked_response(scripted: type[ScriptedServer]) -> None:
    chunked = (
        b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
        b'5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\n'
    )
    server = scripted([[chunked, OK]])
    with EndpointSession(server.address) as session:
        assert session.request('GET', '/get?key=a') == (200, b'hello world')
        # The connection stays usable after a chunked body.
        assert session.request('GET', '/get?key=b') == (200, b'ok')
    assert len(server.replies) == 1


def test_close_delimited_response(scripted: type[ScriptedServer]) -> None:
    server = scripted(
        [[b'HTTP/1.0 404 Not Found\r\n\r\nmissing'], [OK]],
    )
    with EndpointSession(server.address) as session:
        assert session.request('GET', '/get?key=a') == (404, b'missing')
        assert session.request('GET', '/get?key=a') == (200, b'ok')


def test_large_response_is_a_bytearray(
    scripted: type[ScriptedServer],
) -> None:
    body = b'z' * 200_000
    reply = b'HTTP/1.1 200 OK\r\nContent-Length: 200000\r\n\r\n' + body
    server = scripted([[reply]])
    with EndpointSession(server.address) as session:
        status, data = session.request('GET', '/get?key=a')
    assert status == 200
    assert isinstance(data, bytearray)
    assert data == body


def test_stale_keep_alive_connection_is_replaced(
    scripted: type[ScriptedServer],
) -> None:
    # First connection answers once then closes; the session retries the
    # second request on a new connection.
    server = scripted([[OK], [OK]])
    with EndpointSession(server.address) as session:
        assert session.request('GET', '/a')[0] == 200
        assert session.request('GET', '/b')[0] == 200
    assert [r.split(b' ')[1] for r in server.requests] == [b'/a', b'/b']


@pytest.mark.parametrize(
    ('reply', 'message'),
    [
        (b'garbage\r\n\r\n', 'Malformed status line'),
        (b'', 'closed the connection'),
        (
            b'HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort',
            'closed mid-response',
        ),
        (
            b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
            'Malformed chunk size',
        ),
    ],
)
def test_broken_responses(
    scripted: type[ScriptedServer],
    reply: bytes,
    message: str,
) -> None:
    server = scripted([[reply]])
    with EndpointSession(server.address) as session:
        with pytest.raises(EndpointRequestError, match=message):
            session.request('GET', '/get?key=a')


def test_unreachable_and_bad_address() -> None:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    with EndpointSession(f'http://127.0.0.1:{port}') as session:
        with pytest.raises(EndpointRequestError, match='unreachable'):
            session.request('GET', '/')
    with pytest.raises(ValueError, match='http'):
        EndpointSession('ftp://host:1')


def test_threads_get_their_own_connections(
    scripted: type[ScriptedServer],
) -> None:
    server = scripted([[OK], [OK]])
    with EndpointSession(server.address) as session:
        results = []
        threads = [
            threading.Thread(
                target=lambda: results.append(session.request('GET', '/')),
            )
            for _ in range(2)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert results == [(200, b'ok'), (200, b'ok')]


@pytest.mark.parametrize('size', [10, 100_000])
def test_body_parts_sent_back_to_back(
    scripted: type[ScriptedServer],
    size: int,
) -> None:
    server = scripted([[OK]])
    parts = [b'a' * size, bytearray(b''), memoryview(b'-b-')[1:2], b'c']
    with EndpointSession(server.address) as session:
        assert session.request('POST', '/set?key=a', parts)[0] == 200
    total = size + 2
    request = server.requests[0]
    assert f'Content-Length: {total}\r\n'.encode() in request
    assert request.endswith(b'\r\n\r\n' + b'a' * size + b'bc')


def test_slow_answer_after_the_poll() -> None:
    # The client polls briefly, then blocks until the late answer arrives.
    with socket.socket() as listener:
        listener.bind(('127.0.0.1', 0))
        listener.listen()
        port = listener.getsockname()[1]
        pause = threading.Event()

        def answer_late() -> None:
            conn, _ = listener.accept()
            with conn:
                assert conn.recv(65536).startswith(b'GET /slow ')
                pause.wait(0.05)  # far longer than the client's poll
                conn.sendall(OK)

        thread = threading.Thread(target=answer_late, daemon=True)
        thread.start()
        with EndpointSession(f'http://127.0.0.1:{port}') as session:
            assert session.request('GET', '/slow') == (200, b'ok')
        thread.join()
