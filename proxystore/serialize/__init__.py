"""Turn Python objects into bytes and back.

`serialize` picks a path from the object's type and prefixes the payload
with an identifier so `deserialize` knows how to read it back:

| type | path |
| --- | --- |
| `bytes` | stored as is (no pickling) |
| `str` | UTF-8 |
| `numpy.ndarray` | raw array bytes + dtype/shape |
| `pandas.DataFrame` / `pandas.Series` | pickle 5, out-of-band buffers |
| `polars.DataFrame` | Arrow IPC |
| anything else | pickle 5, out-of-band buffers; cloudpickle fallback |

NumPy, pandas and polars are never imported by this module: an object can
only be an instance of their types if the library is already loaded.

Copies: a large array is copied once into the serialized `bytes`. On
`deserialize`, a *writable* input buffer (`bytearray`, writable
`memoryview`) is handed over: returned arrays alias it. Immutable input
(`bytes`) is copied once so returned arrays are writable and never alias
the caller's data.
"""

from __future__ import annotations

import pickle
import sys
from typing import Any

import cloudpickle  # type: ignore[import-untyped]
from typing_extensions import Buffer

from proxystore.serialize import _numpy
from proxystore.serialize import _pickled
from proxystore.serialize import _polars
from proxystore.serialize._frame import BYTES
from proxystore.serialize._frame import CLOUDPICKLE
from proxystore.serialize._frame import ID_SIZE
from proxystore.serialize._frame import NUMPY
from proxystore.serialize._frame import PANDAS
from proxystore.serialize._frame import PICKLE
from proxystore.serialize._frame import POLARS
from proxystore.serialize._frame import STRING
from proxystore.serialize._frame import SerializationError
from proxystore.serialize._frame import as_byte_view
from proxystore.serialize.buffers import join

__all__ = [
    'SerializationError',
    'deserialize',
    'serialize',
    'serialize_to_buffers',
]


def _loaded_type(module: str, name: str) -> Any:
    """Return `module.name` if `module` is already imported, else `None`."""
    loaded = sys.modules.get(module)
    return None if loaded is None else getattr(loaded, name, None)


def serialize(obj: Any) -> bytes | memoryview:
    """Serialize an object to bytes.

    Args:
        obj: Object to serialize.

    Returns:
        Bytes that `deserialize` turns back into an equal object: a
        `bytes` object, or for payloads of 1 MiB and more a read-only
        `memoryview` (immutable bytes-like, see module docs).

    Raises:
        SerializationError: If neither pickle nor cloudpickle can
            serialize `obj`.
    """
    return join(serialize_to_buffers(obj))


def serialize_to_buffers(obj: Any) -> list[Buffer]:
    """Serialize an object to a list of buffers, without joining them.

    Writing the buffers back to back gives exactly the bytes `serialize`
    returns. Large payloads (array data, out-of-band pickle buffers) are
    views of `obj`'s own memory, so a connector that writes the parts
    directly (`BufferListConnector`) saves the one copy `serialize` makes.
    The views are only valid while `obj` is alive and unchanged.

    Raises:
        SerializationError: If neither pickle nor cloudpickle can
            serialize `obj`.
    """
    kind = type(obj)
    if kind is bytes:
        return [BYTES, obj]
    if kind is str:
        try:
            return [STRING, obj.encode('utf-8')]
        except UnicodeEncodeError:
            # Lone surrogates are valid in str but not in UTF-8.
            return _pickle(obj)
    if kind is _loaded_type('numpy', 'ndarray') and _numpy.supports(obj):
        return _numpy.encode(NUMPY, obj)
    if kind is _loaded_type('pandas', 'DataFrame') or kind is _loaded_type(
        'pandas',
        'Series',
    ):
        return _pickle(obj, PANDAS)
    if kind is _loaded_type('polars', 'DataFrame'):
        try:
            return _polars.encode(POLARS, obj)
        except Exception:
            # e.g. Object columns, which Arrow IPC cannot hold.
            return _pickle(obj)
    return _pickle(obj)


def _pickle(obj: Any, identifier: bytes = PICKLE) -> list[Buffer]:
    try:
        return _pickled.encode(identifier, obj, pickle.dumps)
    except Exception:
        pass
    try:
        return _pickled.encode(CLOUDPICKLE, obj, cloudpickle.dumps)
    except Exception as e:
        raise SerializationError(
            f'Object of type {type(obj).__name__} cannot be serialized '
            f'with pickle or cloudpickle: {e!r}',
        ) from e


def deserialize(data: Buffer) -> Any:
    """Deserialize bytes produced by `serialize`.

    Args:
        data: Any bytes-like object. A writable buffer (`bytearray`,
            writable `memoryview`) is handed over: arrays in the result
            may alias it, so do not reuse it afterwards.

    Returns:
        The deserialized object.

    Raises:
        SerializationError: If `data` is not bytes-like, is empty, has an
            unknown identifier, or its body is truncated or corrupted.
    """
    view = as_byte_view(data)
    if len(view) < ID_SIZE:
        raise SerializationError('Cannot deserialize empty data.')
    identifier = bytes(view[:ID_SIZE])
    if identifier == BYTES:
        return bytes(view[ID_SIZE:])
    if identifier == STRING:
        try:
            return str(view[ID_SIZE:], 'utf-8')
        except UnicodeDecodeError as e:
            raise SerializationError(f'Invalid UTF-8 string: {e}') from e
    if identifier in (PICKLE, CLOUDPICKLE, PANDAS):
        return _pickled.decode(view)
    if identifier == NUMPY:
        return _numpy.decode(view)
    if identifier == POLARS:
        return _polars.decode(view)
    raise SerializationError(
        f'Unknown serialization identifier {identifier!r}.',
    )
