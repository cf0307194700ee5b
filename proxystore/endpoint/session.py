"""A lean keep-alive HTTP/1.1 session to one endpoint.

Endpoint requests are tiny and answered in a few hundred microseconds on
loopback, so the client's own overhead decides throughput: `requests` adds
about half a millisecond per call and `http.client` (whose header parsing
goes through the `email` package) about a hundred microseconds. This module
speaks the small subset of HTTP/1.1 the endpoint API needs directly on a
socket: requests with a `Content-Length` body, and responses framed by
`Content-Length`, chunked encoding, or connection close. Bodies go straight
from the caller's buffer to the socket, and large responses are read with
one copy into a writable buffer the caller owns.

After sending a request the client polls briefly for the answer before
it blocks (see `proxystore.endpoint.polling`).
"""

from __future__ import annotations

import io
import os
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Sequence
from typing import cast

from proxystore.endpoint.config import validate_token
from proxystore.endpoint.exceptions import EndpointConnectionError
from proxystore.endpoint.exceptions import EndpointRequestError
from proxystore.endpoint.polling import POLL_SECONDS
from proxystore.endpoint.polling import wait_readable
from proxystore.serialize.buffers import allocate
from proxystore.utils.closing import CloseOnExit

_SMALL_BODY = 64 * 1024
"""Bodies up to this size are sent in the same packet as the headers and
returned as `bytes`; larger response bodies are returned as writable
buffers (`bytearray`, or from 1 MiB a `memoryview` over a huge-page
mapping)."""

_MAX_LINE = 65536
_MAX_HEADERS = 100

Body = bytes | bytearray | memoryview
BodyParts = Sequence[Body]
"""Buffers that together form one body, sent back to back."""


def _prepare_body(
    body: Body | BodyParts | None,
) -> tuple[bytes | list[memoryview], int]:
    """Return the body as small `bytes` or large byte views, and its size."""
    if body is None:
        return b'', 0
    if isinstance(body, bytes):
        return body, len(body)
    try:
        parts = [memoryview(body).cast('B')]  # type: ignore[arg-type]
    except TypeError:  # not a buffer: a sequence of buffers
        parts = [memoryview(part).cast('B') for part in cast(BodyParts, body)]
    size = sum(part.nbytes for part in parts)
    if size <= _SMALL_BODY:
        return b''.join(parts), size
    return [part for part in parts if part.nbytes], size


class _StaleConnectionError(ConnectionError):
    """The server closed a kept-alive connection before answering."""


class _Connection:
    """One HTTP/1.1 connection: a socket and a buffered reader over it."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        https: bool,
        timeout: float | None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if https:
            context = ssl_context or ssl.create_default_context()
            try:
                sock = context.wrap_socket(sock, server_hostname=host)
            except BaseException:
                sock.close()
                raise
        self.sock = sock
        # TLS sockets refuse recv flags; sockets with a timeout wait for
        # data inside recv even when asked not to.
        self.can_poll = not https and timeout is None
        self.answers_fast = True
        self.reader = cast(
            io.BufferedReader,
            sock.makefile('rb', buffering=_SMALL_BODY),
        )
        self.used = False

    def close(self) -> None:
        self.reader.close()
        self.sock.close()

    def _line(self) -> bytes:
        line = self.reader.readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise EndpointRequestError('Response line too long.')
        return line

    def _status_line(self) -> bytes:
        """Read the status line, polling first while answers come fast."""
        if not self.can_poll:
            return self._line()
        started = time.perf_counter()
        if self.answers_fast:
            wait_readable(self.sock)
        line = self._line()
        # Polling pays only when answers come about as fast as the poll
        # lasts (a blocked wait adds the wake-up, hence the margin); for a
        # busy server it would burn CPU time the server could use.
        elapsed = time.perf_counter() - started
        self.answers_fast = elapsed < 2 * POLL_SECONDS
        return line

    def _read_exactly(self, length: int) -> Body:
        if length <= _SMALL_BODY:
            data: bytes = self.reader.read(length)
            if len(data) != length:
                raise ConnectionError('Connection closed mid-response.')
            return data
        # Large buffers come from huge-page mappings: a fresh multi-MiB
        # bytearray costs more in page faults than the network transfer.
        buffer = allocate(length)
        view = memoryview(buffer)
        received = 0
        while received < length:
            n = self.reader.readinto(view[received:])
            if not n:
                raise ConnectionError('Connection closed mid-response.')
            received += n
        return buffer

    def _read_chunked(self, size_hint: int | None) -> Body:
        if size_hint is not None and size_hint > _SMALL_BODY:
            return self._read_chunked_into(size_hint)
        parts = io.BytesIO()
        while True:
            size = self._chunk_size()
            if size == 0:
                while self._line() not in (b'\r\n', b'\n', b''):
                    pass  # trailers
                return parts.getvalue()
            parts.write(self._read_exactly(size))
            self._line()  # CRLF after the chunk

    def _chunk_size(self) -> int:
        size_line = self._line().split(b';', 1)[0].strip()
        try:
            return int(size_line, 16)
        except ValueError:
            raise EndpointRequestError(
                f'Malformed chunk size {size_line!r}.',
            ) from None

    def _read_chunked_into(self, total: int) -> Body:
        """Read a chunked body announced as `total` bytes with one copy."""
        buffer = allocate(total)
        view = memoryview(buffer)
        received = 0
        while True:
            size = self._chunk_size()
            if size == 0:
                while self._line() not in (b'\r\n', b'\n', b''):
                    pass  # trailers
                if received != total:
                    raise EndpointRequestError(
                        f'Chunked body of {received} bytes, announced '
                        f'{total}.',
                    )
                return buffer
            if received + size > total:
                raise EndpointRequestError('Chunked body over its size.')
            end = received + size
            while received < end:
                n = self.reader.readinto(view[received:end])
                if not n:
                    raise ConnectionError('Connection closed mid-response.')
                received += n
            self._line()  # CRLF after the chunk

    def exchange(
        self,
        head: bytes,
        body: bytes | list[memoryview],
    ) -> tuple[int, Body, bool]:
        """Send a request; return (status, body, keep connection open)."""
        reused, self.used = self.used, True
        try:
            if isinstance(body, bytes):
                # One write: headers and body in the same packet.
                self.sock.sendall(head + body)
            else:
                self.sock.sendall(head)
                for part in body:
                    self.sock.sendall(part)
            status_line = self._status_line()
        except ConnectionError as e:
            if reused:
                raise _StaleConnectionError(str(e)) from e
            raise
        if not status_line:
            if reused:
                raise _StaleConnectionError('Server closed the connection.')
            raise ConnectionError('Server closed the connection.')
        parts = status_line.split(None, 2)
        try:
            version, status = parts[0], int(parts[1])
        except (IndexError, ValueError):
            raise EndpointRequestError(
                f'Malformed status line {status_line!r}.',
            ) from None
        length: int | None = None
        size_hint: int | None = None
        chunked = False
        keep_alive = version == b'HTTP/1.1'
        for _ in range(_MAX_HEADERS):
            line = self._line()
            if line in (b'\r\n', b'\n', b''):
                break
            name, _, value = line.partition(b':')
            name = name.strip().lower()
            if name == b'content-length':
                length = int(value)
            elif name == b'transfer-encoding':
                chunked = b'chunked' in value.lower()
            elif name == b'connection':
                keep_alive = value.strip().lower() != b'close'
            elif name == b'x-blob-size':
                size_hint = int(value)
        else:
            raise EndpointRequestError('Too many response headers.')
        if chunked:
            data: Body = self._read_chunked(size_hint)
        elif length is not None:
            data = self._read_exactly(length)
        else:
            data = self.reader.read()
            keep_alive = False
        return status, data, keep_alive


class EndpointSession(CloseOnExit):
    """Keep-alive connections to the endpoint at `address`, one per thread.

    A kept-alive connection the server has closed is replaced transparently
    (the request is retried once on a fresh connection). Safe to share
    between threads, and across `fork` (children open their own
    connections).

    Args:
        address: Base URL of the endpoint (`http://host:port`; `https`
            also works).
        token: Bearer token sent with every request.
        timeout: Socket timeout in seconds (`None` = block).
        ssl_context: TLS settings for `https` addresses (default: verify
            the server against the system's CAs).
    """

    def __init__(
        self,
        address: str,
        *,
        token: str | None = None,
        timeout: float | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urllib.parse.urlsplit(address)
        if parts.scheme not in ('http', 'https') or not parts.hostname:
            raise ValueError(
                f'Endpoint address must be http(s)://host:port, got '
                f'{address!r}.',
            )
        if token is not None and not validate_token(token):
            raise ValueError('Invalid token: printable ASCII, no spaces.')
        self.address = address.rstrip('/')
        self._https = parts.scheme == 'https'
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self.timeout = timeout
        self._ssl_context = ssl_context
        extra = f'Authorization: Bearer {token}\r\n' if token else ''
        self._header_tail = f'Host: {parts.netloc}\r\n{extra}'
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[_Connection] = []
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.address!r})'

    def _connection(self) -> _Connection:
        """Return this thread's connection, opening one if needed."""
        if self._pid != os.getpid():
            # Forked: the parent's sockets are not ours to use or close.
            self._pid = os.getpid()
            self._local = threading.local()
            self._connections = []
        conn: _Connection | None = getattr(self._local, 'conn', None)
        if conn is not None:
            return conn
        try:
            conn = _Connection(
                self._host,
                self._port,
                https=self._https,
                timeout=self.timeout,
                ssl_context=self._ssl_context,
            )
        except OSError as e:
            raise EndpointConnectionError(
                f'Endpoint at {self.address} is unreachable: {e}',
            ) from e
        self._local.conn = conn
        with self._lock:
            self._connections.append(conn)
        return conn

    def _drop(self, conn: _Connection) -> None:
        conn.close()
        self._local.conn = None
        with self._lock:
            if conn in self._connections:
                self._connections.remove(conn)

    def request(
        self,
        method: str,
        path: str,
        body: Body | BodyParts | None = None,
    ) -> tuple[int, Body]:
        """Send one request; return the status and the whole body.

        Bodies over 64 KiB come back as a writable buffer the caller owns
        (`bytearray`, or a `memoryview` from 1 MiB), read from the socket
        with one copy; a deserializer can use it in place.

        Args:
            method: HTTP method.
            path: Path and query string (e.g. `/get?key=abc`).
            body: Request body: any contiguous bytes-like object, or a
                sequence of them sent back to back (no join).

        Raises:
            EndpointRequestError: If the endpoint cannot be reached or
                answers with something that is not HTTP.
        """
        payload, size = _prepare_body(body)
        head = (
            f'{method} {path} HTTP/1.1\r\n{self._header_tail}'
            f'Content-Length: {size}\r\n\r\n'
        ).encode()
        while True:
            conn = self._connection()
            try:
                status, data, keep_alive = conn.exchange(head, payload)
            except _StaleConnectionError:
                self._drop(conn)
                continue
            except (OSError, ValueError, EndpointRequestError) as e:
                self._drop(conn)
                if isinstance(e, EndpointRequestError):
                    raise
                raise EndpointConnectionError(
                    f'Request to endpoint at {self.address} failed: {e}',
                ) from e
            if not keep_alive:
                self._drop(conn)
            return status, data

    def close(self) -> None:
        """Close every connection this session opened."""
        with self._lock:
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
        self._local = threading.local()
