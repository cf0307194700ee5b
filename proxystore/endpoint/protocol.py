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
bodies of unknown length (chunked uploads) kept as a `ChunkedBlob` whose
small pieces are merged into `COALESCE_SIZE` chunks (so a body of tiny
chunks costs about its size, not a Python object per chunk).

A request with a body that is refused once its headers are in (bad token,
bad key, oversize, unknown `Expect`) is answered at once, before its body,
with `Connection: close`; a client that sent `Expect: 100-continue` then
need not send the body at all. The rest of the body is read and dropped
so the client can read the answer, then the connection closes.

Slow or idle clients cannot hold connections: a request head must arrive
within `header_timeout` of the connection opening or the previous answer
(so idle keep-alive connections close too), and its body within
`body_timeout` of the head.
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

COALESCE_SIZE = 256 * 1024
"""Pieces of a chunked body smaller than this are merged into chunks of
about this size."""

HEADER_TIMEOUT = 60.0
"""Default seconds a connection may wait for a complete request head."""

BODY_TIMEOUT = 300.0
"""Default seconds a request body may take to arrive."""


def _max_connections() -> int:
    try:
        import resource
    except ImportError:  # pragma: no cover (not Unix)
        return 1000
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1000
    # Leave descriptors for the listener, storage, relay and peers.
    return max(16, min(1000, soft - 64))


MAX_CONNECTIONS = _max_connections()
"""Default cap on open client connections (1000, or fewer if the file
descriptor limit is lower); more are answered 503 and closed."""

_REASONS = {
    100: 'Continue',
    200: 'OK',
    400: 'Bad Request',
    401: 'Unauthorized',
    404: 'Not Found',
    405: 'Method Not Allowed',
    408: 'Request Timeout',
    413: 'Payload Too Large',
    417: 'Expectation Failed',
    500: 'Internal Server Error',
    502: 'Bad Gateway',
    503: 'Service Unavailable',
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
            that need a current task (e.g. a websocket client) must not.
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
        chunked: Send a body larger than `CONTIGUOUS_LIMIT` with chunked
            transfer encoding, in pieces of `chunk_size` bytes, announcing
            its size in an `X-Blob-Size` header.
        chunk_size: Size of the pieces of a chunked body.
    """

    status: int
    body: Blob = b''
    content_type: str = 'text/plain; charset=utf-8'
    headers: tuple[bytes, ...] = ()
    chunked: bool = False
    chunk_size: int = CONTIGUOUS_LIMIT


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


def response_head(
    response: Response,
    size: int,
    keep_alive: bool,
    *,
    chunked: bool = False,
) -> bytes:
    """Return the status line and headers for `response`."""
    status = response.status
    framing = (
        [b'Transfer-Encoding: chunked', b'X-Blob-Size: %d' % size]
        if chunked
        else [b'Content-Length: %d' % size]
    )
    lines = [
        f'HTTP/1.1 {status} {_REASONS.get(status, "Unknown")}'.encode(),
        *framing,
        b'Content-Type: ' + response.content_type.encode(),
        *response.headers,
    ]
    if not keep_alive:
        lines.append(b'Connection: close')
    return b'\r\n'.join(lines) + b'\r\n\r\n'


def _pieces(blob: Blob, step: int = CONTIGUOUS_LIMIT) -> list[Any]:
    """Split a large blob into the pieces written one after another."""
    if isinstance(blob, ChunkedBlob):
        return list(blob.chunks)
    view = memoryview(blob).cast('B')
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
        header_timeout: Seconds to wait for a complete request head, from
            the connection opening or the previous answer.
        body_timeout: Seconds a request body may take to arrive.
        max_connections: Most connections open at once (`None`: no cap);
            a connection over the cap is answered 503 and closed, so a
            flood of idle clients cannot exhaust the file descriptors.
    """

    def __init__(
        self,
        handlers: Handlers,
        connections: set[HTTPProtocol],
        *,
        header_timeout: float = HEADER_TIMEOUT,
        body_timeout: float = BODY_TIMEOUT,
        max_connections: int | None = MAX_CONNECTIONS,
    ) -> None:
        self._handlers = handlers
        self._connections = connections
        self._max_connections = max_connections
        self._header_timeout = header_timeout
        self._body_timeout = body_timeout
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None
        self._close_after = False
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
        self._receiving = False
        self._head_size = 0
        self._failed = False

    def _reset(self) -> None:
        self._url = b''
        self._authorization: bytes | None = None
        self._length: int | None = None
        self._chunked = False
        self._expect_continue = False
        self._expect_other = False
        self._request: Request | None = None
        self._refusal: Response | None = None
        self._limit: int | None = None
        self._discard = False
        self._chunks: list[bytes] = []
        self._pending = bytearray()
        self._buffer: bytearray | memoryview | None = None
        self._received = 0

    # timeouts

    def _arm(self, seconds: float) -> None:
        """Set the connection's deadline to `seconds` from now.

        One timer per connection checks the deadline when it fires and is
        moved only when a deadline comes earlier than it: most requests
        just move the deadline.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        self._deadline = deadline
        timer = self._timer
        if timer is not None:
            if timer.when() <= deadline:
                return
            timer.cancel()
        self._timer = loop.call_at(deadline, self._check_deadline)

    def _disarm(self) -> None:
        self._deadline = None

    def _check_deadline(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None or self._transport is None:
            return
        loop = asyncio.get_running_loop()
        if loop.time() < deadline:
            self._timer = loop.call_at(deadline, self._check_deadline)
            return
        self._deadline = None
        self._timed_out()

    def _idle(self) -> None:
        """Wait for the next request head, within `header_timeout`.

        (Unless a request is arriving: its head or body has a deadline.)
        """
        if self._close_after:
            self.close()
        elif self._transport is not None and not self._receiving:
            self._arm(self._header_timeout)

    def _timed_out(self) -> None:
        if self._receiving:
            self._fail(408, 'Request not received in time.')
        else:
            self.close()

    # asyncio callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Register the connection (or refuse it when over the cap)."""
        self._transport = cast(asyncio.Transport, transport)
        if (
            self._max_connections is not None
            and len(self._connections) >= self._max_connections
        ):
            self._fail(
                503,
                f'Too many open connections (limit {self._max_connections}).'
                ' Try again later.',
            )
            return
        self._connections.add(self)
        self._arm(self._header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection and stop answering its requests."""
        self._disarm()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
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
        self._disarm()
        if self._worker is None and not self._close_after:
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
        if self._close_after:
            # An answer with `Connection: close` went out: read no more.
            raise ConnectionAbortedError('connection is closing')
        self._reset()
        self._in_head = True
        self._receiving = True
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
            self._expect_other = not self._expect_continue

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
        self._disarm()
        has_body = self._chunked or bool(self._length)
        if self._expect_other:
            self._refusal, self._limit = (
                Response(417, b'Only "Expect: 100-continue" is supported.'),
                0,
            )
        else:
            self._refusal, self._limit = self._handlers.check(request)
        self._discard = self._refusal is not None or self._limit == 0
        if has_body:
            self._arm(self._body_timeout)
        if self._refusal is not None and has_body:
            self._refuse_early(self._refusal)
        if self._discard:
            return
        length = request.content_length or 0
        if length > CONTIGUOUS_LIMIT:
            self._buffer = allocate(length)
        if (
            self._expect_continue
            and self._transport is not None
            and self._worker is None
            and not self._queue
        ):
            # (Behind a pending answer it would come out of order; the
            # client then sends the body after its own wait.)
            self._transport.write(b'HTTP/1.1 100 Continue\r\n\r\n')

    def _refuse_early(self, refusal: Response) -> None:
        """Answer a refused request before its body, then close.

        Only when no earlier answer is pending (answers go out in order);
        otherwise the refusal is sent after the body, as usual.
        """
        transport = self._transport
        if transport is None or self._worker is not None or self._queue:
            return
        self._close_after = True
        body = bytes(refusal.body)
        transport.write(response_head(refusal, len(body), False) + body)
        if self._expect_continue:
            # The client waits for "100 Continue" and may never send the
            # body: stop reading soon.
            if transport.can_write_eof():
                transport.write_eof()
            self._failed = True
            self._disarm()
            asyncio.get_running_loop().call_later(LINGER_SECONDS, self.close)

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
            refusal = self._handlers.too_large(
                self._received,
                self._limit,
            )
            self._refusal = refusal
            self._discard = True
            self._chunks.clear()
            self._pending = bytearray()
            self._refuse_early(refusal)
            return
        if len(body) >= COALESCE_SIZE:
            self._flush_pending()
            self._chunks.append(body)
            return
        # Many small pieces: merge them, so each costs its bytes only.
        self._pending += body
        if len(self._pending) >= COALESCE_SIZE:
            self._flush_pending()

    def _flush_pending(self) -> None:
        if self._pending:
            self._chunks.append(bytes(self._pending))
            self._pending = bytearray()

    def on_message_complete(self) -> None:
        """Queue the complete request for an answer."""
        request = self._request
        assert request is not None
        self._disarm()
        self._receiving = False
        keep_alive = self._parser.should_keep_alive()
        if self._close_after:
            # Answered before its body; the body is now drained.
            if self._worker is None:
                self.close()
            return
        if self._refusal is not None:
            self._answer(request, keep_alive, self._refusal)
            return
        self._flush_pending()
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
            self._idle()
            return
        self._worker = asyncio.get_running_loop().create_task(
            self._work(result, keep_alive),
        )

    def _write_now(self, response: Response, keep_alive: bool) -> bool:
        """Write a small response at once; return `False` if it is large."""
        body = response.body
        if isinstance(body, ChunkedBlob) or blob_size(body) > CONTIGUOUS_LIMIT:
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
        chunked = response.chunked
        transport.write(
            response_head(
                response,
                blob_size(body),
                keep_alive,
                chunked=chunked,
            ),
        )
        for piece in _pieces(body, response.chunk_size):
            await self._can_write.wait()
            if self._transport is None:
                return
            if chunked:
                transport.write(b'%x\r\n' % len(piece))
                transport.write(piece)
                transport.write(b'\r\n')
            else:
                transport.write(piece)
        if chunked:
            transport.write(b'0\r\n\r\n')
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
                self._idle()
