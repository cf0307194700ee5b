"""Chunk framing (upstream's 18-byte header)."""

from __future__ import annotations

import struct

import pytest

from proxystore.p2p.chunks import CHUNK_HEADER_FORMAT
from proxystore.p2p.chunks import CHUNK_HEADER_LENGTH
from proxystore.p2p.chunks import Chunk
from proxystore.p2p.chunks import ChunkDType
from proxystore.p2p.chunks import chunkify
from proxystore.p2p.chunks import reconstruct


def test_header_layout_is_upstreams() -> None:
    assert CHUNK_HEADER_LENGTH == 18
    chunk = bytes(Chunk(7, 1, 3, b'abc'))
    assert chunk[:18] == struct.pack(CHUNK_HEADER_FORMAT, 1, 21, 7, 1, 3)
    assert chunk[18:] == b'abc'
    text = bytes(Chunk(0, 0, 1, 'hé'))
    assert struct.unpack(CHUNK_HEADER_FORMAT, text[:18])[0] == 2
    assert text[18:] == 'hé'.encode()


@pytest.mark.parametrize(
    'data', [b'x' * 100, bytes(range(256)) * 3, 'ab' * 50]
)
def test_roundtrip_in_any_order(data: bytes | str) -> None:
    chunks = list(chunkify(data, 17, stream_id=5))
    assert len(chunks) == -(-len(data) // 17)
    assert {c.stream_id for c in chunks} == {5}
    decoded = [Chunk.from_bytes(bytes(c)) for c in reversed(chunks)]
    assert reconstruct(decoded) == data
    assert decoded[0].dtype is (
        ChunkDType.STRING if isinstance(data, str) else ChunkDType.BYTES
    )


def test_non_ascii_text_from_upstream_is_not_truncated() -> None:
    # Upstream writes len(str) in the header, fewer than the UTF-8 bytes.
    payload = 'héllo'.encode()
    frame = struct.pack(CHUNK_HEADER_FORMAT, 2, 18 + 5, 0, 0, 1) + payload
    assert Chunk.from_bytes(frame).data == 'héllo'


def test_empty_message_has_no_chunks() -> None:
    assert list(chunkify(b'', 10, 0)) == []


def test_bad_chunks_are_refused() -> None:
    with pytest.raises(ValueError, match='greater than the sequence id'):
        Chunk(0, 3, 3, b'x')
    with pytest.raises(ValueError, match='shorter than'):
        Chunk.from_bytes(b'short')
    with pytest.raises(ValueError):
        Chunk.from_bytes(struct.pack(CHUNK_HEADER_FORMAT, 9, 18, 0, 0, 1))
    with pytest.raises(ValueError, match='arrived'):
        Chunk.from_bytes(struct.pack(CHUNK_HEADER_FORMAT, 1, 99, 0, 0, 1))
    with pytest.raises(ValueError, match='empty'):
        reconstruct([])
    with pytest.raises(ValueError, match='2 chunks'):
        reconstruct([Chunk(0, 0, 3, b'a'), Chunk(0, 1, 3, b'b')])
    with pytest.raises(ValueError, match='positive'):
        list(chunkify(b'abc', 0, 0))
    assert 'seq_len=3' in repr(Chunk(0, 1, 3, b'b'))
