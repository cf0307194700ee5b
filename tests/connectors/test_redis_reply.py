"""The direct `MGET` reply reader, over real sockets and a real server.

Replies are written by hand into one end of a connected socket pair
(what a server could send, including broken replies); the server tests
check the connector that uses the reader.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator

import pytest
import redis

import proxystore.serialize._bytes as bytes_module
from proxystore.connectors._redis_reply import read_mget_reply
from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.redis import RedisConnectorError
from tests.fixtures.redis import RedisServer
from tests.fixtures.redis import redis_server_in_tmpdir

pytestmark = pytest.mark.timeout(30)

MIB = 1 << 20


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    reader, writer = socket.socketpair()
    reader.settimeout(5)
    yield reader, writer
    reader.close()
    writer.close()


def bulk(value: bytes | None) -> bytes:
    if value is None:
        return b'$-1\r\n'
    return b'$%d\r\n%s\r\n' % (len(value), value)


def send_slowly(sock: socket.socket, data: bytes, piece: int) -> None:
    """Send `data` in pieces of `piece` bytes from another thread."""

    def run() -> None:
        for start in range(0, len(data), piece):
            sock.sendall(data[start : start + piece])

    thread = threading.Thread(target=run, daemon=True)
    thread.start()


@pytest.mark.parametrize('native', [True, False], ids=['native', 'plain'])
@pytest.mark.parametrize('piece', [1, 7, 65536, 1 << 30])
def test_values_of_every_size_in_any_pieces(
    pair: tuple[socket.socket, socket.socket],
    monkeypatch: pytest.MonkeyPatch,
    native: bool,
    piece: int,
) -> None:
    if not native:
        monkeypatch.setattr(bytes_module, '_NATIVE', None)
    values = [b'', b'small', None, os.urandom(40_000), os.urandom(3 * MIB)]
    if piece == 1:
        values = values[:4]  # a byte at a time: keep it quick
    reply = b'*%d\r\n' % len(values) + b''.join(map(bulk, values))
    reader, writer = pair
    send_slowly(writer, reply, piece)
    result = read_mget_reply(reader, len(values))
    assert result == values
    assert all(type(v) is bytes for v in result if v is not None)


def test_resp3_nulls(pair: tuple[socket.socket, socket.socket]) -> None:
    reader, writer = pair
    writer.sendall(b'*3\r\n_\r\n$1\r\nx\r\n_\r\n')
    assert read_mget_reply(reader, 3) == [None, b'x', None]


def test_error_reply_is_a_response_error(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    reader, writer = pair
    writer.sendall(b'-NOAUTH Authentication required.\r\n')
    with pytest.raises(redis.ResponseError, match='NOAUTH'):
        read_mget_reply(reader, 2)


@pytest.mark.parametrize(
    'reply',
    [
        b'*3\r\n$1\r\nx\r\n',  # fewer values than keys
        b'+OK\r\n',  # not an array
        b'*2\r\n:1\r\n:2\r\n',  # integers, not values
        b'*1\r\n$x\r\n',  # not a length
        b'*1\r\n$-2\r\n',
        b'*1\r\n$3\r\nabcd\r\n',  # value longer than its length
        b'*1\r\n>2\r\n',  # a RESP3 push message
        b'*1\r\n$1\r\nx\r\n$1\r\ny\r\n',  # data after the reply
        b'*1\r\n' + b'9' * 100,  # a line that never ends
    ],
)
def test_broken_reply_is_a_connection_error(
    pair: tuple[socket.socket, socket.socket],
    reply: bytes,
) -> None:
    reader, writer = pair
    writer.sendall(reply)
    writer.shutdown(socket.SHUT_WR)  # a short reply ends, never hangs
    with pytest.raises(redis.ConnectionError):
        read_mget_reply(reader, 1 if reply.startswith(b'*1') else 3)


def test_closed_mid_value_is_a_connection_error(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    reader, writer = pair

    def send_then_close() -> None:
        writer.sendall(b'*1\r\n$%d\r\n' % (2 * MIB) + b'x' * MIB)
        writer.shutdown(socket.SHUT_WR)

    thread = threading.Thread(target=send_then_close, daemon=True)
    thread.start()
    with pytest.raises(redis.ConnectionError, match='closed'):
        read_mget_reply(reader, 1)
    thread.join(5)


def test_stalled_reply_is_a_timeout(
    pair: tuple[socket.socket, socket.socket],
) -> None:
    reader, writer = pair
    reader.settimeout(0.2)
    writer.sendall(b'*1\r\n$%d\r\n' % (2 * MIB) + b'x' * 1000)
    with pytest.raises(redis.TimeoutError):
        read_mget_reply(reader, 1)


# --- through the connector ----------------------------------------------


def test_largest_whole_values_round_trip(redis_server: RedisServer) -> None:
    # The session server's bulk limit is 1 MiB: the largest whole value.
    with RedisConnector(redis_server.host, redis_server.port, clear=True) as c:
        values = [os.urandom(size) for size in (MIB, MIB - 1, 0, 33_000)]
        keys = c.put_batch(values)
        assert [c.get(key) for key in keys] == values
        assert c.get_batch(keys) == values
        many = keys * 5  # more keys than the direct reader takes
        assert c.get_batch(many) == values * 5


def test_error_reply_leaves_the_connection_usable() -> None:
    with redis_server_in_tmpdir('--rename-command', 'MGET', '') as server:
        with RedisConnector(server.host, server.port) as connector:
            key = connector.new_key()
            with pytest.raises(RedisConnectorError, match='refused'):
                connector.get(key)
            assert not connector.exists(key)  # same connection, in step
            connector.put(b'x')
            with pytest.raises(RedisConnectorError, match='refused'):
                connector.get(key)
