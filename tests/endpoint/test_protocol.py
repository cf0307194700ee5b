"""HTTP/1.1 details of the endpoint server, spoken over raw sockets."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest

from proxystore.endpoint import client
from tests.fixtures.endpoint import endpoint_process


@pytest.fixture(scope='module')
def sqlite_endpoint(endpoint_home: str) -> Iterator[Any]:
    """An endpoint whose storage makes every handler wait (aiosqlite)."""
    with endpoint_process(endpoint_home, 'raw-sqlite', persist=True) as config:
        yield config


@pytest.fixture(params=['memory', 'sqlite'])
def endpoint(request: pytest.FixtureRequest) -> Any:
    """Both the answered-at-once (memory) and the waiting (SQLite) paths."""
    name = (
        'shared_endpoint' if request.param == 'memory' else 'sqlite_endpoint'
    )
    return request.getfixturevalue(name)


def http(
    method: str,
    target: str,
    body: bytes = b'',
    *headers: str,
) -> bytes:
    """Return the bytes of one HTTP/1.1 request."""
    lines = [f'{method} {target} HTTP/1.1', 'Host: test', *headers]
    if body or method == 'POST':
        lines.append(f'Content-Length: {len(body)}')
    return '\r\n'.join(lines).encode() + b'\r\n\r\n' + body


class Raw:
    """A socket to an endpoint that reads responses one at a time."""

    def __init__(self, config: Any) -> None:
        self.sock = socket.create_connection(
            ('127.0.0.1', config.port),
            timeout=10,
        )
        self.reader = self.sock.makefile('rb')

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def send(self, *requests: bytes) -> None:
        self.sock.sendall(b''.join(requests))

    def response(self) -> tuple[int, dict[str, str], bytes]:
        status = int(self.reader.readline().split()[1])
        headers = {}
        while (line := self.reader.readline()) not in (b'\r\n', b''):
            name, _, value = line.decode().partition(':')
            headers[name.strip().lower()] = value.strip()
        body = self.reader.read(int(headers.get('content-length', 0)))
        return status, headers, body

    def closed_by_server(self) -> bool:
        return self.reader.read(1) == b''


@pytest.fixture
def raw(endpoint: Any) -> Iterator[Raw]:
    connection = Raw(endpoint)
    try:
        yield connection
    finally:
        connection.close()


def test_pipelined_requests_are_answered_in_order(raw: Raw) -> None:
    raw.send(
        http('POST', '/set?key=pipe-a', b'first'),
        http('POST', '/set?key=pipe-b', b'second'),
        http('GET', '/get?key=pipe-a'),
        http('GET', '/exists?key=pipe-b'),
        http('POST', '/evict?key=pipe-a'),
        http('GET', '/get?key=pipe-a'),
        http('GET', '/get?key=bad/key'),
        http('GET', '/get?key=pipe-b'),
    )
    answers = [raw.response() for _ in range(8)]
    assert [status for status, _, _ in answers] == [
        200,
        200,
        200,
        200,
        200,
        404,
        400,
        200,
    ]
    assert answers[2][2] == b'first'
    assert answers[3][2] == b'{"exists": true}'
    assert answers[7][2] == b'second'


def test_malformed_http_is_400_and_closes_only_that_connection(
    endpoint: Any,
    raw: Raw,
) -> None:
    address = endpoint.local_url()
    client.put(address, 'kept-through-garbage', b'safe')
    raw.send(b'NOT HTTP AT ALL\r\n\r\n')
    status, _, body = raw.response()
    assert status == 400
    assert b'Malformed HTTP request' in body
    assert raw.closed_by_server()
    assert client.get(address, 'kept-through-garbage') == b'safe'


def test_unknown_route_is_404_and_connection_stays_usable(raw: Raw) -> None:
    raw.send(http('GET', '/nowhere'), http('GET', '/'))
    assert raw.response()[0] == 404
    status, headers, body = raw.response()
    assert status == 200
    assert headers['content-type'] == 'application/json'
    assert body == b'{"status": "ok"}'


def test_expect_100_continue(raw: Raw) -> None:
    head = http('POST', '/set?key=continued', b'', 'Expect: 100-continue')
    head = head.replace(b'Content-Length: 0', b'Content-Length: 4')
    raw.send(head)
    assert raw.reader.readline().startswith(b'HTTP/1.1 100')
    assert raw.reader.readline() == b'\r\n'
    raw.send(b'body')
    assert raw.response()[0] == 200
    raw.send(http('GET', '/get?key=continued'))
    assert raw.response()[2] == b'body'


def test_connection_close_is_honoured(raw: Raw) -> None:
    raw.send(http('GET', '/', b'', 'Connection: close'))
    status, headers, _ = raw.response()
    assert status == 200
    assert headers['connection'] == 'close'
    assert raw.closed_by_server()


def test_body_on_a_bodiless_route_is_read_and_dropped(raw: Raw) -> None:
    raw.send(
        http('POST', '/set?key=dropped-body', b'stays'),
        http('POST', '/evict?key=other', b'x' * (2 * 1024 * 1024)),
        http('GET', '/get?key=dropped-body'),
    )
    assert raw.response()[0] == 200
    assert raw.response()[0] == 200
    assert raw.response()[2] == b'stays'


def test_endless_headers_are_refused(endpoint: Any, raw: Raw) -> None:
    address = endpoint.local_url()
    client.put(address, 'kept-through-long-head', b'safe')
    raw.send(b'GET / HTTP/1.1\r\nX-Long: ' + b'a' * (200 * 1024))
    status, _, body = raw.response()
    assert status == 400
    assert b'too long' in body
    assert raw.closed_by_server()
    assert client.get(address, 'kept-through-long-head') == b'safe'
