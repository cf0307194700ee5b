"""Fast path for plain NumPy arrays.

Layout after the identifier::

    uint32 metadata length | metadata (pickled dtype, shape, order)
    | padding | raw array bytes

The array bytes are copied once into the serialized payload. A Fortran
ordered array is stored as its C-ordered transpose so no reordering copy is
needed in either direction.
"""

from __future__ import annotations

import math
import pickle
from typing import Any

from typing_extensions import Buffer

from proxystore.serialize._frame import ID_SIZE
from proxystore.serialize._frame import SerializationError
from proxystore.serialize._frame import pack_uint32
from proxystore.serialize._frame import padding
from proxystore.serialize._frame import require_exact_length
from proxystore.serialize._frame import unpack_uint32


def supports(array: Any) -> bool:
    """Whether `array` can take the raw-bytes path (else pickle it)."""
    dtype = array.dtype
    return not dtype.hasobject and dtype.itemsize > 0


def encode(identifier: bytes, array: Any) -> list[Buffer]:
    """Serialize a NumPy array as metadata followed by its raw bytes.

    Returns:
        The payload's parts, to be written back to back; the last one is
        a view of the array's memory (no copy made here).
    """
    fortran = array.ndim > 1 and not array.flags.c_contiguous
    if fortran and array.flags.f_contiguous:
        array = array.T
    else:
        fortran = False
        if not array.flags.c_contiguous:
            array = array.copy(order='C')
    metadata = pickle.dumps((array.dtype, array.shape, fortran), protocol=5)
    offset = ID_SIZE + 4 + len(metadata)
    return [
        identifier,
        pack_uint32(len(metadata)),
        metadata,
        bytes(padding(offset, array.nbytes)),
        memoryview(array.reshape(-1).view('u1')),
    ]


def decode(data: memoryview) -> Any:
    """Rebuild an array; alias `data` only when it is writable."""
    import numpy

    size = unpack_uint32(data, ID_SIZE)
    start = ID_SIZE + 4
    try:
        dtype, shape, fortran = pickle.loads(data[start : start + size])
        dtype = numpy.dtype(dtype)
        shape = tuple(int(n) for n in shape)
        if any(n < 0 for n in shape):
            raise ValueError(f'negative dimension in shape {shape}')
        count = math.prod(shape)
    except Exception as e:
        raise SerializationError(
            f'Corrupted NumPy array metadata: {e!r}',
        ) from e
    offset = start + size
    nbytes = count * dtype.itemsize
    offset += padding(offset, nbytes)
    require_exact_length(data, offset + nbytes)

    if count == 0:
        array = numpy.empty(shape, dtype=dtype)
    else:
        array = numpy.frombuffer(data, dtype=dtype, count=count, offset=offset)
        if data.readonly:
            array = array.copy()
        array = array.reshape(shape)
    return array.T if fortran else array
