"""Fast path for polars DataFrames via the Arrow IPC format."""

from __future__ import annotations

import io
from typing import Any

from typing_extensions import Buffer

from proxystore.serialize._frame import ID_SIZE
from proxystore.serialize._frame import SerializationError


def encode(identifier: bytes, frame: Any) -> list[Buffer]:
    """Serialize a polars DataFrame as an uncompressed Arrow IPC file."""
    sink = io.BytesIO()
    frame.write_ipc(sink, compression='uncompressed')
    return [identifier, sink.getbuffer()]


def decode(data: memoryview) -> Any:
    """Read a polars DataFrame written by `encode`."""
    import polars
    from polars.exceptions import PanicException

    try:
        return polars.read_ipc(io.BytesIO(data[ID_SIZE:]))
    # A Rust panic on malformed input is a BaseException, not an Exception.
    except (Exception, PanicException) as e:
        raise SerializationError(
            f'Corrupted polars IPC payload: {e!r}',
        ) from e
