"""Reading blob bodies from aiohttp streams without extra copies.

Used where the endpoint is an HTTP client: forwarding to a peer endpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from aiohttp import StreamReader

from proxystore.endpoint.exceptions import MalformedRequestError
from proxystore.endpoint.exceptions import ObjectSizeExceededError
from proxystore.endpoint.protocol import CONTIGUOUS_LIMIT
from proxystore.endpoint.storage import Blob
from proxystore.endpoint.storage import ChunkedBlob
from proxystore.endpoint.storage import check_object_size
from proxystore.serialize.buffers import allocate


async def drain(stream: StreamReader) -> None:
    """Discard the rest of `stream`."""
    while await stream.readany():
        pass


async def read_blob(
    stream: StreamReader,
    length: int | None,
    max_size: int | None = None,
) -> Blob:
    """Read a whole body of `length` bytes (or unknown length) from `stream`.

    Small bodies come back as `bytes`. Larger ones of known length are
    copied as they arrive into one huge-page buffer (see
    `_read_into_buffer`); bodies of unknown length (chunked uploads) come
    back as a `ChunkedBlob` of the chunks as received. Either way peak
    memory is about one blob.

    Raises:
        ObjectSizeExceededError: If the body is over `max_size` (the rest of
            the body is drained first so the peer can read an answer).
        MalformedRequestError: If the body ends before `length` bytes.
    """
    if length is not None:
        try:
            check_object_size(length, max_size)
        except ObjectSizeExceededError:
            await drain(stream)
            raise
        if length == 0:
            return b''
        if length <= CONTIGUOUS_LIMIT:
            try:
                return await stream.readexactly(length)
            except asyncio.IncompleteReadError as e:
                raise MalformedRequestError(
                    f'Body ended before its {length} bytes.',
                ) from e
    if length is not None:
        return await _read_into_buffer(stream, length)
    chunks = []
    received = 0
    async for chunk, _ in stream.iter_chunks():
        chunks.append(chunk)
        received += len(chunk)
        if length is None:
            try:
                check_object_size(received, max_size)
            except ObjectSizeExceededError:
                chunks.clear()
                await drain(stream)
                raise
    if length is not None and received != length:
        raise MalformedRequestError(
            f'Body ended after {received} of {length} bytes.',
        )
    if len(chunks) <= 1:
        return chunks[0] if chunks else b''
    return ChunkedBlob(chunks)


async def _read_into_buffer(stream: StreamReader, length: int) -> Blob:
    """Copy a known-length body into one huge-page buffer as it arrives.

    Each received chunk is copied once and freed at once, so the process
    keeps reusing the same few chunk-sized allocations; a large fresh
    allocation of ordinary memory would cost more in page faults than the
    copy.
    """
    buffer = allocate(length)
    view = memoryview(buffer)
    received = 0
    # `iter_chunks` hands over each received chunk as is; `iter_any` would
    # first join the chunks that queued up, copying the body once more.
    async for chunk, _ in stream.iter_chunks():
        end = received + len(chunk)
        if end > length:
            raise MalformedRequestError('Body longer than announced.')
        view[received:end] = chunk
        received = end
    if received != length:
        raise MalformedRequestError(
            f'Body ended after {received} of {length} bytes.',
        )
    return buffer


async def iter_chunks(blob: ChunkedBlob) -> AsyncIterator[bytes]:
    """Yield the chunks of `blob` (an aiohttp streaming request body)."""
    for chunk in blob.chunks:
        yield chunk
