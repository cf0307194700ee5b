"""Read an `MGET` reply from a Redis socket into `bytes` without copies.

redis-py hands a large value to its parser in socket-sized slices, and
the parser copies them into its own buffer and then into the `bytes`
object it returns: two extra passes over a value of tens of megabytes,
which cost more than receiving it. `read_mget_reply` instead receives
each large value straight into the memory of the `bytes` object returned
(see `proxystore.serialize._bytes.filled_bytes`); small values and the
RESP framing go through a small read-ahead buffer.

Only the replies an `MGET` can produce are understood: an array of bulk
strings and nulls (RESP2 or RESP3), or an error. Anything else (such as a
RESP3 push message) means the connection is out of step, which is
reported as a `redis.ConnectionError` (the caller then drops the
connection).
"""

from __future__ import annotations

import socket

import redis

from proxystore.serialize._bytes import filled_bytes

_READ_AHEAD = 64 * 1024
"""Bytes asked of the socket at a time for framing and small values."""

_LARGE_VALUE = 32 * 1024
"""Values from this size on are received straight into their object."""

_MAX_LINE = 64
"""Longest framing line of an `MGET` reply (type byte, length, CRLF)."""


class _Reader:
    """A read-ahead buffer over a connected socket."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()
        self._start = 0

    def _available(self) -> int:
        return len(self._buffer) - self._start

    def _receive(self) -> None:
        """Append what the socket has (at least one byte) to the buffer."""
        if self._start:
            del self._buffer[: self._start]
            self._start = 0
        data = self._sock.recv(_READ_AHEAD)
        if not data:
            raise redis.ConnectionError('Connection closed by server.')
        self._buffer += data

    def line(self) -> bytes:
        """The next CRLF-terminated line, without its CRLF."""
        while True:
            end = self._buffer.find(b'\r\n', self._start)
            if end >= 0:
                line = bytes(self._buffer[self._start : end])
                self._start = end + 2
                return line
            if self._available() > _MAX_LINE:
                raise redis.ConnectionError(
                    'Unexpected reply from the server (line too long).',
                )
            self._receive()

    def exactly(self, size: int) -> bytes:
        """The next `size` bytes, followed by a CRLF that is skipped."""
        if size >= _LARGE_VALUE and self._available() < size + 2:
            data = filled_bytes(size, self._fill)
            if data is not None:
                self._skip_crlf()
                return data
        while self._available() < size + 2:
            self._receive()
        end = self._start + size
        data = bytes(self._buffer[self._start : end])
        self._start = end
        self._skip_crlf()
        return data

    def _fill(self, target: memoryview) -> None:
        """Fill `target`: the buffered bytes first, then the socket's."""
        buffered = min(self._available(), target.nbytes)
        end = self._start + buffered
        target[:buffered] = self._buffer[self._start : end]
        self._start = end
        filled = buffered
        while filled < target.nbytes:
            n = self._sock.recv_into(target[filled:])
            if n == 0:
                raise redis.ConnectionError('Connection closed by server.')
            filled += n

    def _skip_crlf(self) -> None:
        while self._available() < 2:
            self._receive()
        if self._buffer[self._start : self._start + 2] != b'\r\n':
            raise redis.ConnectionError(
                'Unexpected reply from the server (no CRLF after a value).',
            )
        self._start += 2

    def drained(self) -> bool:
        """Whether every byte received has been consumed."""
        return self._available() == 0


def _length(line: bytes) -> int:
    try:
        return int(line[1:])
    except ValueError:
        raise redis.ConnectionError(
            f'Unexpected reply from the server ({line[:_MAX_LINE]!r}).',
        ) from None


def read_mget_reply(sock: socket.socket, count: int) -> list[bytes | None]:
    """Read the reply to an `MGET` of `count` keys from `sock`.

    Raises:
        redis.ResponseError: If the server answered with an error (the
            connection can be used again).
        redis.ConnectionError: If the connection closed or the reply is
            not one an `MGET` of `count` keys gives (drop the connection).
        redis.TimeoutError: If the server did not answer in time.
    """
    reader = _Reader(sock)
    try:
        head = reader.line()
        if head[:1] == b'-':
            raise redis.ResponseError(head[1:].decode(errors='replace'))
        if head[:1] != b'*' or _length(head) != count:
            raise redis.ConnectionError(
                f'Unexpected reply to MGET from the server ({head[:20]!r}).',
            )
        values: list[bytes | None] = []
        for _ in range(count):
            line = reader.line()
            if line == b'_':  # RESP3 null
                values.append(None)
                continue
            size = _length(line) if line[:1] == b'$' else None
            if size is None or size < -1:
                raise redis.ConnectionError(
                    f'Unexpected value in an MGET reply ({line[:20]!r}).',
                )
            values.append(None if size == -1 else reader.exactly(size))
    except TimeoutError as e:
        raise redis.TimeoutError(
            f'Timeout reading from the server: {e}',
        ) from e
    except OSError as e:
        raise redis.ConnectionError(
            f'Error reading from the server: {e}',
        ) from e
    if not reader.drained():
        raise redis.ConnectionError(
            'Unexpected reply from the server (data after an MGET reply).',
        )
    return values
