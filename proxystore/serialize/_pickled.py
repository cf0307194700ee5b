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
"""

from __future__ import annotations

import pickle
import zlib
from collections.abc import Callable
from typing import Any

from typing_extensions import Buffer

from proxystore.serialize._frame import ID_SIZE
from proxystore.serialize._frame import SerializationError
from proxystore.serialize._frame import pack_uint32
from proxystore.serialize._frame import pack_uint64s
from proxystore.serialize._frame import padding
from proxystore.serialize._frame import require_exact_length
from proxystore.serialize._frame import unpack_uint32
from proxystore.serialize._frame import unpack_uint64s
from proxystore.serialize.buffers import writable_copy

PROTOCOL = max(5, pickle.HIGHEST_PROTOCOL)
# The checksum follows the identifier; the checked header starts after it.
_CHECKED_START = ID_SIZE + 4

Dumper = Callable[..., bytes]


def encode(
    identifier: bytes,
    obj: Any,
    dumps: Dumper,
) -> list[Buffer]:
    """Pickle `obj` with `dumps`, framing out-of-band buffers after it.

    Returns:
        The payload's parts, to be written back to back; out-of-band
        buffers are views of the pickled objects' memory (no copy).
    """
    buffers: list[pickle.PickleBuffer] = []
    stream = dumps(obj, protocol=PROTOCOL, buffer_callback=buffers.append)
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


def decode(data: memoryview) -> Any:
    """Unpickle a payload written by `encode`.

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
    try:
        return pickle.loads(stream, buffers=buffers)
    except Exception as e:
        raise SerializationError(
            f'Failed to unpickle serialized data: {e!r}',
        ) from e


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
