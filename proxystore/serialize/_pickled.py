"""Pickle protocol 5 with out-of-band buffers.

Layout after the identifier::

    uint32 checksum | uint32 buffer count n | uint64 pickle length
    | n x uint64 buffer length | pickle stream
    | padding | buffer 0 | padding | buffer 1 | ...

The checksum is the CRC-32 of the identifier, the lengths and the pickle
stream (not of the buffers, whose bytes are plain data). Unpickling a
corrupted stream can build objects in an invalid state that crash the
interpreter (a NumPy dtype, for example), so a stream that does not match
its checksum is never unpickled.

Large buffers (NumPy arrays, pandas blocks) travel outside the pickle
stream so they are copied exactly once into the serialized bytes, and can be
aliased (writable input) or copied once (immutable input) on the way back.

The pickler's `dump` and `load` are passed in by the caller, which looks
them up on the `pickle`/`cloudpickle` modules at call time (so patching
`pickle.load` takes effect). The unpatched functions are swapped for their
in-memory twins (`dumps`, `loads`), which skip a file object.
"""

from __future__ import annotations

import io
import pickle
import zlib
from collections.abc import Callable
from typing import Any

import cloudpickle  # type: ignore[import-untyped]
from typing_extensions import Buffer

from proxystore.serialize._frame import ID_SIZE
from proxystore.serialize._frame import SerializationError
from proxystore.serialize._frame import pack_uint32
from proxystore.serialize._frame import pack_uint64s
from proxystore.serialize._frame import padding
from proxystore.serialize._frame import require_exact_length
from proxystore.serialize._frame import unpack_uint32
from proxystore.serialize._frame import unpack_uint64s
from proxystore.utils.buffers import LARGE_BUFFER
from proxystore.utils.buffers import writable_copy

PROTOCOL = max(5, pickle.HIGHEST_PROTOCOL)
# The checksum follows the identifier; the checked header starts after it.
_CHECKED_START = ID_SIZE + 4

Dumper = Callable[..., None]
Loader = Callable[..., Any]

_IN_MEMORY_DUMPS: dict[Any, Callable[..., bytes]] = {
    pickle.dump: pickle.dumps,
    cloudpickle.dump: cloudpickle.dumps,
}
_IN_MEMORY_LOADS: dict[Any, Callable[..., Any]] = {
    pickle.load: pickle.loads,
    cloudpickle.load: cloudpickle.loads,
}


def encode(
    identifier: bytes,
    obj: Any,
    dump: Dumper,
) -> list[Buffer]:
    """Pickle `obj` with `dump`, framing out-of-band buffers after it.

    Args:
        identifier: Frame identifier.
        obj: Object to pickle.
        dump: `pickle.dump` or a function with its signature.

    Returns:
        The payload's parts, to be written back to back; out-of-band
        buffers are views of the pickled objects' memory (no copy).
    """
    buffers: list[pickle.PickleBuffer] = []
    dumps = _IN_MEMORY_DUMPS.get(dump)
    stream: Buffer
    if dumps is not None:
        stream = dumps(obj, protocol=PROTOCOL, buffer_callback=buffers.append)
    else:
        sink = io.BytesIO()
        dump(obj, sink, protocol=PROTOCOL, buffer_callback=buffers.append)
        stream = sink.getbuffer()
    raws = [buffer.raw() for buffer in buffers]
    header = pack_uint32(len(raws)) + pack_uint64s(
        [len(stream), *(raw.nbytes for raw in raws)],
    )
    checksum = zlib.crc32(stream, zlib.crc32(header, zlib.crc32(identifier)))
    parts: list[Buffer] = [identifier, pack_uint32(checksum), header, stream]
    offset = _CHECKED_START + len(header) + len(stream)
    for raw in raws:
        pad = padding(offset, raw.nbytes)
        parts.append(bytes(pad))
        parts.append(raw)
        offset += pad + raw.nbytes
    return parts


def decode(data: memoryview, load: Loader) -> Any:
    """Unpickle a payload written by `encode` with `load`.

    Buffers alias `data` when it is writable; otherwise each one is copied
    once so the objects built on them are writable and independent.
    """
    count = unpack_uint32(data, _CHECKED_START)
    lengths = unpack_uint64s(data, _CHECKED_START + 4, count + 1)
    stream_start = _CHECKED_START + 4 + 8 * (count + 1)
    offset = stream_start + lengths[0]
    spans = []
    for length in lengths[1:]:
        offset += padding(offset, length)
        spans.append((offset, offset + length))
        offset += length
    require_exact_length(data, offset)
    _verify_checksum(data, stream_start + lengths[0])

    if data.readonly:
        buffers: list[Any] = [writable_copy(data[a:b]) for a, b in spans]
    else:
        buffers = [data[a:b] for a, b in spans]
    stream = data[stream_start : stream_start + lengths[0]]
    loads = _IN_MEMORY_LOADS.get(load)
    try:
        if loads is not None:
            return loads(stream, buffers=buffers)
        return load(reader(stream), buffers=buffers)
    except Exception as e:
        raise SerializationError(
            f'Failed to unpickle serialized data: {e!r}',
        ) from e


def reader(data: memoryview) -> io.BytesIO | ViewReader:
    """A binary file reading `data`, for `pickle.load`.

    Small data is copied into a `BytesIO` (the fastest reader); large data
    is read in place, so a large object in the stream is copied once.
    """
    if data.nbytes < LARGE_BUFFER:
        return io.BytesIO(data)
    return ViewReader(data)


class ViewReader:
    """A read-only binary file over a memoryview, without copying it.

    Args:
        data: The bytes to read.
    """

    def __init__(self, data: memoryview) -> None:
        self._data = data
        self._position = 0

    def read(self, size: int = -1) -> bytes:
        """Read up to `size` bytes (all that is left if negative)."""
        start, total = self._position, len(self._data)
        end = total if size < 0 else min(start + size, total)
        self._position = end
        return bytes(self._data[start:end])

    def readinto(self, buffer: Buffer) -> int:
        """Read into `buffer`; returns the number of bytes read."""
        target = memoryview(buffer).cast('B')
        start = self._position
        count = min(target.nbytes, len(self._data) - start)
        target[:count] = self._data[start : start + count]
        self._position = start + count
        return count

    def seek(self, offset: int, whence: int = 0) -> int:
        """Move to `offset` from the start, the position or the end."""
        base = (0, self._position, len(self._data))[whence]
        self._position = max(0, min(base + offset, len(self._data)))
        return self._position

    def tell(self) -> int:
        """The current position."""
        return self._position

    def readline(self) -> bytes:
        """Read up to and including the next newline."""
        start = end = self._position
        while end < len(self._data):
            chunk = bytes(self._data[end : end + 4096])
            found = chunk.find(b'\n')
            if found >= 0:
                end += found + 1
                break
            end += len(chunk)
        self._position = end
        return bytes(self._data[start:end])


def _verify_checksum(data: memoryview, stream_end: int) -> None:
    """Raise `SerializationError` unless the stored CRC-32 matches."""
    expected = unpack_uint32(data, ID_SIZE)
    actual = zlib.crc32(
        data[_CHECKED_START:stream_end],
        zlib.crc32(data[:ID_SIZE]),
    )
    if actual != expected:
        raise SerializationError(
            'Serialized pickle data is corrupted (checksum mismatch).',
        )
