"""Fast path for plain NumPy arrays.

Layout after the identifier::

    uint32 metadata length | metadata | padding | raw array bytes

The metadata is the `repr` of a `(dtype description, shape, fortran)`
tuple, read back with `ast.literal_eval`: unlike unpickling a dtype, no
corruption of it can build an invalid dtype (which crashes NumPy).

The array bytes are copied once into the serialized payload. A Fortran
ordered array is stored as its C-ordered transpose so no reordering copy is
needed in either direction.
"""

from __future__ import annotations

import ast
import functools
import math
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
    return _describe(array.dtype) is not None


def _descr_to_dtype(descr: Any) -> Any:
    """NumPy's `numpy.lib.format.descr_to_dtype` (imported on first use)."""
    from numpy.lib.format import descr_to_dtype

    # Typed only in newer NumPy (NumPy 2.2, the last for Python 3.10, is not).
    return descr_to_dtype(descr)  # type: ignore[no-untyped-call, unused-ignore]


def _describe(dtype: Any) -> str | list[Any] | None:
    """A literal description of a plain-data dtype, else `None`.

    `None` for dtypes whose items are not plain bytes (objects, NumPy 2
    strings), that are empty, or that a literal cannot describe exactly
    (user-defined dtypes, dtype metadata).
    """
    if dtype.hasobject or dtype.itemsize == 0 or dtype.metadata:
        return None
    # What `numpy.lib.format.dtype_to_descr` returns for the dtypes that
    # reach this point (it would also warn, from any thread, on others).
    descr = dtype.str if dtype.names is None else dtype.descr
    try:
        exact = bool(_descr_to_dtype(descr) == dtype)
    except Exception:
        return None
    return descr if exact else None


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
    description = (_describe(array.dtype), array.shape, fortran)
    metadata = repr(description).encode('utf-8')
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
        text = str(data[start : start + size], 'utf-8')
        descr, shape, fortran = _parse_metadata(text)
        # A fresh dtype per array: a structured dtype is mutable
        # (`dtype.names = ...`), so it must not be shared via the cache.
        dtype = _descr_to_dtype(descr)
        if dtype.hasobject:
            raise ValueError(f'dtype {dtype} holds Python objects')
    except Exception as e:
        raise SerializationError(
            f'Corrupted NumPy array metadata: {e!r}',
        ) from e
    count = math.prod(shape)
    offset = start + size
    nbytes = count * dtype.itemsize
    offset += padding(offset, nbytes)
    require_exact_length(data, offset + nbytes)

    try:
        if count == 0:
            # The shape alone can still be invalid, e.g. (0, 2**70).
            array = numpy.empty(shape, dtype=dtype)
        else:
            array = numpy.frombuffer(
                data,
                dtype=dtype,
                count=count,
                offset=offset,
            ).reshape(shape)
    except Exception as e:
        raise SerializationError(f'Invalid NumPy array shape: {e!r}') from e
    if data.readonly and count:
        array = array.copy()
    return array.T if fortran else array


@functools.lru_cache(maxsize=256)
def _parse_metadata(text: str) -> tuple[Any, tuple[int, ...], bool]:
    """Read `(dtype description, shape, fortran)` from the metadata literal.

    Cached: parsing the literal costs far more than the rest of decoding
    a small array, and arrays of one dtype and shape recur.

    Raises:
        Exception: Any error for a malformed description.
    """
    descr, shape, fortran = ast.literal_eval(text)
    return descr, tuple(_dimension(n) for n in shape), bool(fortran)


def _dimension(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise ValueError(f'invalid array dimension {value!r}')
    return value
