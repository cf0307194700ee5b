"""Split messages into chunks with a fixed header, and rebuild them.

The wire layout is upstream ProxyStore's: every chunk starts with an
18-byte header packed as `CHUNK_HEADER_FORMAT` (network byte order):

| field | type | meaning |
| --- | --- | --- |
| dtype | `H` | `ChunkDType` of the whole message (1 bytes, 2 str) |
| length | `L` | `CHUNK_HEADER_LENGTH + len(data)` |
| stream_id | `L` | id of the message the chunk belongs to |
| seq_id | `L` | index of the chunk within its message |
| seq_len | `L` | number of chunks in the message |

followed by the chunk's payload (UTF-8 for a str message).
"""

from __future__ import annotations

import enum
import math
import struct
from collections.abc import Generator

CHUNK_HEADER_FORMAT = '!HLLLL'
"""`struct` format of a chunk header."""

CHUNK_HEADER_LENGTH = struct.calcsize(CHUNK_HEADER_FORMAT)
"""Bytes in a chunk header (18)."""

_HEADER = struct.Struct(CHUNK_HEADER_FORMAT)


class ChunkDType(enum.Enum):
    """Type of the message a chunk is part of."""

    BYTES = 1
    STRING = 2


class Chunk:
    """One piece of a message.

    Args:
        stream_id: Id of the message the chunk belongs to.
        seq_id: Index of this chunk within the message.
        seq_len: Number of chunks in the message.
        data: Payload of the chunk.
        dtype: Type of the whole message (defaults to the type of `data`).

    Raises:
        ValueError: If `seq_id` is not less than `seq_len`.
    """

    __slots__ = ('data', 'dtype', 'seq_id', 'seq_len', 'stream_id')

    def __init__(
        self,
        stream_id: int,
        seq_id: int,
        seq_len: int,
        data: bytes | str,
        dtype: ChunkDType | None = None,
    ) -> None:
        if seq_len <= seq_id:
            raise ValueError(
                f'Sequence length ({seq_len}) must be greater than the '
                f'sequence id ({seq_id}).',
            )
        if dtype is None:
            dtype = (
                ChunkDType.STRING
                if isinstance(data, str)
                else ChunkDType.BYTES
            )
        self.stream_id = stream_id
        self.seq_id = seq_id
        self.seq_len = seq_len
        self.data = data
        self.dtype = dtype

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(stream_id={self.stream_id}, '
            f'seq_id={self.seq_id}, seq_len={self.seq_len}, '
            f'dtype={self.dtype.name}, size={len(self.data)})'
        )

    def __len__(self) -> int:
        return CHUNK_HEADER_LENGTH + len(self.data)

    def __bytes__(self) -> bytes:
        data = self.data
        payload = data.encode() if isinstance(data, str) else data
        header = _HEADER.pack(
            self.dtype.value,
            CHUNK_HEADER_LENGTH + len(payload),
            self.stream_id,
            self.seq_id,
            self.seq_len,
        )
        return header + payload

    @classmethod
    def from_bytes(cls, chunk: bytes) -> Chunk:
        """Decode a chunk from its wire form.

        Raises:
            ValueError: If the bytes are shorter than a header, name an
                unknown dtype, or carry inconsistent lengths or ids.
        """
        if len(chunk) < CHUNK_HEADER_LENGTH:
            raise ValueError(
                f'Chunk of {len(chunk)} bytes is shorter than the '
                f'{CHUNK_HEADER_LENGTH}-byte header.',
            )
        dtype_value, length, stream_id, seq_id, seq_len = _HEADER.unpack_from(
            chunk,
        )
        dtype = ChunkDType(dtype_value)
        if not CHUNK_HEADER_LENGTH <= length <= len(chunk):
            raise ValueError(
                f'Chunk header says {length} bytes but {len(chunk)} arrived.',
            )
        data: bytes | str
        if dtype is ChunkDType.STRING:
            # Upstream counts characters, not bytes, in `length` for text,
            # so a non-ASCII chunk is longer than its header says: a text
            # chunk always runs to the end of the frame.
            data = chunk[CHUNK_HEADER_LENGTH:].decode()
        else:
            data = chunk[CHUNK_HEADER_LENGTH:length]
        return cls(stream_id, seq_id, seq_len, data, dtype)


def chunkify(
    data: bytes | str,
    size: int,
    stream_id: int,
) -> Generator[Chunk, None, None]:
    """Split `data` into chunks of at most `size` items.

    An empty message gives no chunks.

    Args:
        data: Message to split.
        size: Largest payload (bytes, or characters for a str) per chunk.
        stream_id: Id given to every chunk of this message.
    """
    if size < 1:
        raise ValueError(f'Chunk size must be positive, not {size}.')
    seq_len = math.ceil(len(data) / size)
    view: bytes | str | memoryview = (
        data if isinstance(data, str) else memoryview(data)
    )
    for seq_id in range(seq_len):
        piece = view[seq_id * size : (seq_id + 1) * size]
        yield Chunk(
            stream_id,
            seq_id,
            seq_len,
            piece if isinstance(piece, str) else bytes(piece),
        )


def reconstruct(chunks: list[Chunk]) -> bytes | str:
    """Join the chunks of one message (in any order) into the message.

    Raises:
        ValueError: If `chunks` is empty or does not hold exactly
            `seq_len` chunks.
    """
    if not chunks:
        raise ValueError('Chunks list cannot be empty.')
    seq_len = chunks[0].seq_len
    if len(chunks) != seq_len:
        raise ValueError(
            f'Got {len(chunks)} chunks but the message has {seq_len}.',
        )
    ordered = sorted(chunks, key=lambda c: c.seq_id)
    if ordered[0].dtype is ChunkDType.STRING:
        return ''.join(str(c.data) for c in ordered)
    return b''.join(
        c.data if isinstance(c.data, bytes) else c.data.encode()
        for c in ordered
    )
