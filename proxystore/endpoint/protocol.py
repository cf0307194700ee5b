"""A lean HTTP/1.1 server protocol for the endpoint API (asyncio + httptools).

Endpoint requests are tiny and the endpoint's own work for one is a dict
lookup, so the server's per-request overhead decides throughput. A general
web framework spends several times the cost of the work itself on request
and response objects, routing and a task per request; this protocol parses
with `httptools` (the llhttp parser) and runs each handler eagerly: a
handler that finishes without waiting (a local in-memory blob) is answered
from the same callback that received the request. Handlers that wait (SQLite
storage, forwarding to a peer, large responses) continue in one task per
connection, and requests pipelined behind them wait their turn.

Bodies are gathered as they arrive: up to `CONTIGUOUS_LIMIT` into one
`bytes`, larger ones of known length copied into one huge-page buffer,
bodies of unknown length (chunked uploads) kept as a `ChunkedBlob`. A
request refused before its body arrives (bad token, bad key, oversize) has
its body read and dropped, so the client can read the answer and the
connection stays usable.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import urllib.parse
from collections.abc import Awaitable
from collections.abc import Coroutine
from typing import Any
from typing import Protocol
from typing import cast

import httptools

from proxystore.endpoint.storage import Blob
from proxystore.endpoint.storage import ChunkedBlob
from proxystore.endpoint.storage import blob_size
from proxystore.serialize.buffers import allocate

CONTIGUOUS_LIMIT = 1024 * 1024
"""Bodies up to this size are read into one `bytes`, and responses up to
this size are written in one piece; larger ones are streamed."""

MAX_HEAD_SIZE = 64 * 1024
"""Largest request line plus headers accepted (about; checked per read)."""

LINGER_SECONDS = 2.0
"""How long a connection refused for malformed HTTP keeps draining."""

_REASONS = {
    100: 'Continue',
    200: 'OK',
    400: 'Bad Request',
    401: 'Unauthorized',
    404: 'Not Found',
    405: 'Method Not Allowed',
    413: 'Payload Too Large',
    500: 'Internal Server Error',
    502: 'Bad Gateway',
}


@dataclasses.dataclass
class Request:
    """One parsed request, as handed to the request handler.

    Attributes:
        method: HTTP method (`GET`, `POST`, ...).
        path: URL path.
        query: Query parameters (first occurrence of each name wins).
        authorization: Raw `Authorization` header value, if sent.
        content_length: Announced body size (`None` for chunked bodies).
        body: The whole body (set once it has arrived).
        eager: Whether the handler may start outside a task (in the
            callback that received the request). Handlers using libraries
            that need a current task (e.g. aiohttp's client) must not.
        context: What `Handlers.check` learned about the request and
            leaves for `Handlers.handle` (unused by the protocol).
    """

    method: str
    path: str
    query: dict[str, str]
    authorization: bytes | None
    content_length: int | None
    body: Blob = b''
    eager: bool = True
    context: Any = None


@dataclasses.dataclass
class Response:
    """An answer to a request.

    Attributes:
        status: HTTP status code.
        body: Response body.
        content_type: Value of the `Content-Type` header.
        headers: Extra header lines (`b'Name: value'`).
    """

    status: int
    body: Blob = b''
    content_type: str = 'text/plain; charset=utf-8'
    headers: tuple[bytes, ...] = ()


class Handlers(Protocol):
    """What the protocol asks the application to do with requests.

    `check` runs once the headers are in and may refuse the request before
    its body is read; otherwise it returns the largest body to accept
    (`None` for no limit, `0` to read and drop any body). `handle` runs once
    the body has arrived.
    """

    def check(self, request: Request) -> tuple[Response | None, int | None]:
        """Return (a refusal or `None`, the largest acceptable body)."""
        ...

    def handle(self, request: Request) -> Coroutine[Any, Any, Response]:
        """Return a coroutine answering the (complete) request."""
        ...

    def too_large(self, size: int, limit: int) -> Response:
        """Return the answer to a body that grew past `limit` bytes."""
        ...


def parse_query(query: str) -> dict[str, str]:
    """Parse a URL query string (first occurrence of a name wins)."""
    params: dict[str, str] = {}
    if not query:
        return params
    for pair in query.split('&'):
        name, _, value = pair.partition('=')
        # Endpoint keys and UUIDs never need escapes: skip the decoder.
        if '%' in value or '+' in value:
            value = urllib.parse.unquote_plus(value)
        if '%' in name or '+' in name:
            name = urllib.parse.unquote_plus(name)
        params.setdefault(name, value)
    return params


def response_head(response: Response, size: int, keep_alive: bool) -> bytes:
    """Return the status line and headers for `response`."""
    status = response.status
    lines = [
        f'HTTP/1.1 {status} {_REASONS.get(status, "Unknown")}'.encode(),
        b'Content-Length: %d' % size,
        b'Content-Type: ' + response.content_type.encode(),
        *response.headers,
    ]
    if not keep_alive:
        lines.append(b'Connection: close')
    return b'\r\n'.join(lines) + b'\r\n\r\n'


def _pieces(blob: Blob) -> list[Any]:
    """Split a large blob into the pieces written one after another."""
    if isinstance(blob, ChunkedBlob):
        return list(blob.chunks)
    view = memoryview(blob).cast('B')
    step = CONTIGUOUS_LIMIT
    return [view[i : i + step] for i in range(0, view.nbytes, step)]


async def _finish(
    coroutine: Coroutine[Any, Any, Response], waiting: Any
) -> Response:
    """Drive a coroutine that `run_eagerly` started to completion."""
    while True:
        if waiting is None:
            await asyncio.sleep(0)
        else:
            # Do what a task does with a yielded future: wait for it without
            # taking the outcome (the coroutine collects the result or
            # exception itself when resumed).
            waiting._asyncio_future_blocking = False
            try:
                await asyncio.wait([waiting])
            except BaseException:
                coroutine.close()
                raise
        try:
            waiting = coroutine.send(None)
        except StopIteration as stop:
            result: Response = stop.value
            return result


def run_eagerly(
    coroutine: Coroutine[Any, Any, Response],
) -> Response | Awaitable[Response]:
    """Run `coroutine` until it first waits.

    Returns its result if it finished without waiting, else an awaitable
    that finishes it (as `asyncio.eager_task_factory` does on Python 3.12+).
    """
    try:
        waiting = coroutine.send(None)
    except StopIteration as stop:
        result: Response = stop.value
        return result
    return _finish(coroutine, waiting)


class HTTPProtocol(asyncio.Protocol):
    """One client connection: parse requests, answer them in order.

    Args:
        handlers: The application answering requests.
        connections: Set of open connections (this one adds itself while
            open, so the server can close them all on shutdown).
    """

    def __init__(
        self,
        handlers: Handlers,
        connections: set[HTTPProtocol],
    ) -> None:
        self._handlers = handlers
        self._connections = connections
        self._parser = httptools.HttpRequestParser(self)
        self._transport: asyncio.Transport | None = None
        self._queue: collections.deque[
            tuple[Request, bool, Response | None]
        ] = collections.deque()
        self._worker: asyncio.Task[None] | None = None
        self._can_write = asyncio.Event()
        self._can_write.set()
        self._reset()
        self._in_head = False
        self._head_size = 0
        self._failed = False

    def _reset(self) -> None:
        self._url = b''
        self._authorization: bytes | None = None
        self._length: int | None = None
        self._chunked = False
        self._expect_continue = False
        self._request: Request | None = None
        self._refusal: Response | None = None
        self._limit: int | None = None
        self._discard = False
        self._chunks: list[bytes] = []
        self._buffer: bytearray | memoryview | None = None
        self._received = 0

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Register the connection."""
        self._transport = cast(asyncio.Transport, transport)
        self._connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection and stop answering its requests."""
        self._connections.discard(self)
        self._transport = None
        self._queue.clear()
        self._can_write.set()
        if self._worker is not None:
            self._worker.cancel()

    def pause_writing(self) -> None:
        """Hold large responses until the client reads."""
        self._can_write.clear()

    def resume_writing(self) -> None:
        """Continue large responses."""
        self._can_write.set()

    def data_received(self, data: bytes) -> None:
        """Feed received bytes to the parser."""
        if self._failed:
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(400, 'Protocol upgrades are not supported.')
            return
        except httptools.HttpParserError as e:
            self._fail(400, f'Malformed HTTP request: {e}')
            return
        if self._in_head:
            # The parser keeps an unfinished head in memory: bound it.
            self._head_size += len(data)
            if self._head_size > MAX_HEAD_SIZE:
                self._fail(400, 'Request line and headers are too long.')

    def close(self) -> None:
        """Close the connection."""
        if self._transport is not None:
            self._transport.close()

    def _fail(self, status: int, message: str) -> None:
        """Answer a request that cannot be parsed, then close.

        The close lingers: what the client still sends is read and dropped
        for a moment, since closing with unread data would reset the
        connection before the client reads the answer.
        """
        transport = self._transport
        if transport is None or self._failed:
            return
        self._failed = True
        if self._worker is None:
            response = Response(status, message.encode())
            transport.write(
                response_head(response, len(response.body), False)
                + bytes(response.body),
            )
        if transport.can_write_eof():
            transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER_SECONDS, self.close)

    # httptools callbacks

    def on_message_begin(self) -> None:
        """Start a new request."""
        self._reset()
        self._in_head = True
        self._head_size = 0

    def on_url(self, url: bytes) -> None:
        """Collect the request target (it may arrive in pieces)."""
        self._url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        """Keep the headers the endpoint uses."""
        name = name.lower()
        if name == b'authorization':
            self._authorization = value
        elif name == b'content-length':
            self._length = int(value)  # llhttp has checked the digits
        elif name == b'transfer-encoding':
            self._chunked = b'chunked' in value.lower()
        elif name == b'expect':
            self._expect_continue = value.lower() == b'100-continue'

    def on_headers_complete(self) -> None:
        """Decide whether to accept the body before it arrives."""
        self._in_head = False
        url = httptools.parse_url(self._url)
        request = Request(
            method=self._parser.get_method().decode('ascii', 'replace'),
            path=url.path.decode('utf-8', 'replace'),
            query=parse_query(
                url.query.decode('utf-8', 'replace') if url.query else '',
            ),
            authorization=self._authorization,
            content_length=None if self._chunked else (self._length or 0),
        )
        self._request = request
        self._refusal, self._limit = self._handlers.check(request)
        self._discard = self._refusal is not None or self._limit == 0
        if self._discard:
            return
        length = request.content_length or 0
        if length > CONTIGUOUS_LIMIT:
            self._buffer = allocate(length)
        if self._expect_continue and self._transport is not None:
            self._transport.write(b'HTTP/1.1 100 Continue\r\n\r\n')

    def on_body(self, body: bytes) -> None:
        """Gather (or drop) a piece of the body."""
        if self._discard:
            return
        start = self._received
        self._received += len(body)
        if self._buffer is not None:
            self._buffer[start : self._received] = body
            return
        if self._limit is not None and self._received > self._limit:
            # A chunked body grew past the limit: drop what we have.
            self._refusal = self._handlers.too_large(
                self._received,
                self._limit,
            )
            self._discard = True
            self._chunks.clear()
            return
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        """Queue the complete request for an answer."""
        request = self._request
        assert request is not None
        keep_alive = self._parser.should_keep_alive()
        if self._refusal is not None:
            self._answer(request, keep_alive, self._refusal)
            return
        if self._buffer is not None:
            request.body = self._buffer
        elif len(self._chunks) == 1:
            request.body = self._chunks[0]
        elif request.content_length is None and self._chunks:
            request.body = ChunkedBlob(self._chunks)
        else:
            request.body = b''.join(self._chunks)
        self._answer(request, keep_alive, None)

    # answering

    def _answer(
        self,
        request: Request,
        keep_alive: bool,
        response: Response | None,
    ) -> None:
        if self._worker is not None:
            self._queue.append((request, keep_alive, response))
            return
        result: Response | Awaitable[Response]
        if response is not None:
            result = response
        elif request.eager:
            result = run_eagerly(self._handlers.handle(request))
        else:
            result = self._handlers.handle(request)
        if isinstance(result, Response) and self._write_now(
            result,
            keep_alive,
        ):
            return
        self._worker = asyncio.get_running_loop().create_task(
            self._work(result, keep_alive),
        )

    def _write_now(self, response: Response, keep_alive: bool) -> bool:
        """Write a small response at once; return `False` if it is large."""
        body = response.body
        if isinstance(body, ChunkedBlob) or len(body) > CONTIGUOUS_LIMIT:
            return False
        transport = self._transport
        if transport is None:
            return True
        head = response_head(response, blob_size(body), keep_alive)
        if isinstance(body, bytes):
            transport.write(head + body)
        else:
            transport.write(head)
            transport.write(body)
        if not keep_alive:
            transport.close()
        return True

    async def _write(self, response: Response, keep_alive: bool) -> None:
        if self._write_now(response, keep_alive):
            return
        transport = self._transport
        if transport is None:
            return
        body = response.body
        transport.write(response_head(response, blob_size(body), keep_alive))
        for piece in _pieces(body):
            await self._can_write.wait()
            if self._transport is None:
                return
            transport.write(piece)
        if not keep_alive:
            transport.close()

    async def _work(
        self,
        first: Response | Awaitable[Response],
        keep_alive: bool,
    ) -> None:
        """Answer requests in order until none are queued."""
        assert self._transport is not None
        self._transport.pause_reading()
        try:
            response = first if isinstance(first, Response) else await first
            await self._write(response, keep_alive)
            while self._queue and self._transport is not None:
                request, keep_alive, refusal = self._queue.popleft()
                if refusal is None:
                    refusal = await self._handlers.handle(request)
                await self._write(refusal, keep_alive)
        finally:
            self._worker = None
            if self._transport is not None:
                self._transport.resume_reading()
