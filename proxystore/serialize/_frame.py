"""Identifiers and byte-layout helpers shared by the serialization paths.

Every serialized payload starts with a one-byte identifier naming the path
that produced it (a lower-case letter, so it can never be mistaken for the
two-letter identifiers of upstream ProxyStore's framing, see `_upstream`).
Every frame states how long it is: its header gives the exact size
of what follows (`sized` frames, NumPy shapes, pickle buffer lengths), so a
truncated or extended object is always detected. Paths that carry raw
buffers place them at aligned offsets (see `padding`) so that views into a
received buffer are aligned for any NumPy dtype.
"""

from __future__ import annotations

import struct
from typing import Any

from typing_extensions import Buffer

from proxystore.utils.buffers import byte_view


class SerializationError(Exception):
    """Data cannot be serialized, or bytes cannot be deserialized."""


SerializationError.__module__ = 'proxystore.serialize'


BYTES = b'b'
STRING = b's'
NUMPY = b'n'
PANDAS = b'd'
POLARS = b'l'
PICKLE = b'p'
CLOUDPICKLE = b'c'

NAMES = {
    BYTES: 'bytes',
    STRING: 'string',
    NUMPY: 'numpy',
    PANDAS: 'pandas',
    POLARS: 'polars',
    PICKLE: 'pickle',
    CLOUDPICKLE: 'cloudpickle',
}
"""Serializer name of each identifier (as upstream names them)."""

ID_SIZE = 1
ALIGNMENT = 64
PAGE_SIZE = 4096
PAGE_ALIGN_MIN = 1 << 20

_UINT32 = struct.Struct('<I')
_UINT64 = struct.Struct('<Q')
SIZED_HEADER = ID_SIZE + _UINT64.size
"""Identifier and uint64 length in front of a `sized` frame's payload."""


def padding(offset: int, nbytes: int) -> int:
    """Zero bytes to insert at `offset` before a buffer of `nbytes` bytes.

    Large buffers start on a page boundary: copying out of them is then
    measurably faster than from a merely cache-line aligned address.
    """
    alignment = PAGE_SIZE if nbytes >= PAGE_ALIGN_MIN else ALIGNMENT
    return -offset % alignment


def pack_uint32(value: int) -> bytes:
    """Encode an unsigned 32-bit little-endian integer."""
    return _UINT32.pack(value)


def pack_uint64s(values: list[int]) -> bytes:
    """Encode unsigned 64-bit little-endian integers back to back."""
    return struct.pack(f'<{len(values)}Q', *values)


def sized(identifier: bytes, payload: Buffer) -> list[Buffer]:
    """Frame `payload` as identifier, uint64 payload length, payload."""
    size = len(payload) if type(payload) is bytes else byte_nbytes(payload)
    return [identifier + _UINT64.pack(size), payload]


def byte_nbytes(data: Buffer) -> int:
    """Size in bytes of a bytes-like object."""
    with memoryview(data) as view:
        return view.nbytes


def sized_payload(data: memoryview) -> memoryview:
    """The payload of a `sized` frame, after checking its length.

    Raises:
        SerializationError: If `data` is shorter or longer than its
            header says.
    """
    total = len(data)
    if total >= SIZED_HEADER and (
        total == SIZED_HEADER + _UINT64.unpack_from(data, ID_SIZE)[0]
    ):
        return data[SIZED_HEADER:]
    require_length(data, SIZED_HEADER)
    require_exact_length(
        data,
        SIZED_HEADER + _UINT64.unpack_from(data, ID_SIZE)[0],
    )
    raise AssertionError('unreachable')  # pragma: no cover


def unpack_uint32(data: memoryview, offset: int) -> int:
    """Decode an unsigned 32-bit integer at `offset`, checking bounds."""
    require_length(data, offset + _UINT32.size)
    return int(_UINT32.unpack_from(data, offset)[0])


def unpack_uint64s(data: memoryview, offset: int, count: int) -> list[int]:
    """Decode `count` unsigned 64-bit integers at `offset`, checking bounds."""
    require_length(data, offset + count * _UINT64.size)
    return list(struct.unpack_from(f'<{count}Q', data, offset))


def require_length(data: memoryview, expected: int) -> None:
    """Raise `SerializationError` unless `data` is at least `expected` long."""
    if len(data) < expected:
        raise SerializationError(
            f'Serialized data is truncated: expected at least {expected} '
            f'bytes but got {len(data)}.',
        )


def require_exact_length(data: memoryview, expected: int) -> None:
    """Raise `SerializationError` unless `data` is exactly `expected` long."""
    if len(data) != expected:
        raise SerializationError(
            f'Serialized data has {len(data)} bytes but its header '
            f'describes {expected} bytes (truncated or corrupted).',
        )


def as_byte_view(data: Any) -> memoryview:
    """View any bytes-like object as a flat, unsigned-byte memoryview.

    Raises:
        ValueError: If `data` is not bytes-like.
    """
    if type(data) is bytes or type(data) is bytearray:
        return memoryview(data)  # always flat unsigned bytes
    try:
        return byte_view(data)
    except TypeError:
        raise ValueError(
            f'Expected data to be a bytes-like type, not {type(data)}.',
        ) from None
