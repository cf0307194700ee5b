"""Fast path for polars DataFrames via the Arrow IPC format.

Layout: a `sized` frame (identifier, uint64 length, IPC file).
"""

from __future__ import annotations

import io
from typing import Any

from typing_extensions import Buffer

from proxystore.serialize._frame import SerializationError
from proxystore.serialize._frame import sized
from proxystore.serialize._frame import sized_payload


def encode(identifier: bytes, frame: Any) -> list[Buffer]:
    """Serialize a polars DataFrame as an uncompressed Arrow IPC file."""
    sink = io.BytesIO()
    frame.write_ipc(sink, compression='uncompressed')
    return sized(identifier, sink.getbuffer())


def decode(data: memoryview) -> Any:
    """Read a polars DataFrame written by `encode`."""
    return read_ipc(sized_payload(data))


def read_ipc(payload: memoryview) -> Any:
    """Read an Arrow IPC file into a polars DataFrame.

    Raises:
        SerializationError: If `payload` is not a valid IPC file.
    """
    import polars
    from polars.exceptions import PanicException

    try:
        return polars.read_ipc(io.BytesIO(payload))
    # A Rust panic on malformed input is a BaseException, not an Exception.
    except (Exception, PanicException) as e:
        raise SerializationError(
            f'Corrupted polars IPC payload: {e!r}',
        ) from e
