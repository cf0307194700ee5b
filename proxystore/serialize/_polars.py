"""Fast path for polars DataFrames via the Arrow IPC format."""

from __future__ import annotations

import io
from typing import Any

from proxystore.serialize._frame import ID_SIZE
from proxystore.serialize._frame import SerializationError
from proxystore.serialize.buffers import join


def encode(identifier: bytes, frame: Any) -> bytes | memoryview:
    """Serialize a polars DataFrame as an uncompressed Arrow IPC file."""
    sink = io.BytesIO()
    frame.write_ipc(sink, compression='uncompressed')
    return join([identifier, sink.getbuffer()])


def decode(data: memoryview) -> Any:
    """Read a polars DataFrame written by `encode`."""
    import polars

    try:
        return polars.read_ipc(io.BytesIO(data[ID_SIZE:]))
    except Exception as e:
        raise SerializationError(
            f'Corrupted polars IPC payload: {e!r}',
        ) from e
