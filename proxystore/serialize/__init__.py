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

Every serialized object states its own length, so `deserialize` raises
`SerializationError` for a truncated or extended object instead of
returning wrong data; pickle streams also carry a CRC-32. `deserialize`
also reads objects serialized by upstream ProxyStore (a two-letter
identifier and a newline), so data that upstream wrote to a shared
directory, Redis or an endpoint can be read; `serialize` always writes this
package's framing.

NumPy, pandas and polars are never imported by this module: an object can
only be an instance of their types if the library is already loaded.
Pickling calls `pickle.dump`/`cloudpickle.dump` and reading calls
`pickle.load`/`cloudpickle.load`, looked up when called.

Copies: a large array is copied once into the serialized `bytes`. On
`deserialize`, a *writable* input buffer (`bytearray`, writable
`memoryview`) is handed over: returned arrays alias it. Immutable input
(`bytes`) is copied once so returned arrays are writable and never alias
the caller's data.
"""

from __future__ import annotations

import pickle
import sys
from collections.abc import Callable
from typing import Any

import cloudpickle  # type: ignore[import-untyped]
from typing_extensions import Buffer

from proxystore.serialize import _numpy
from proxystore.serialize import _pickled
from proxystore.serialize import _polars
from proxystore.serialize import _upstream
from proxystore.serialize._bytes import join_bytes
from proxystore.serialize._frame import BYTES
from proxystore.serialize._frame import CLOUDPICKLE
from proxystore.serialize._frame import NAMES
from proxystore.serialize._frame import NUMPY
from proxystore.serialize._frame import PANDAS
from proxystore.serialize._frame import PICKLE
from proxystore.serialize._frame import POLARS
from proxystore.serialize._frame import STRING
from proxystore.serialize._frame import SerializationError
from proxystore.serialize._frame import as_byte_view
from proxystore.serialize._frame import sized
from proxystore.serialize._frame import sized_payload
from proxystore.utils.buffers import BytesLike
from proxystore.utils.buffers import is_bytes_like

__all__ = [
    'BytesLike',
    'SerializationError',
    'deserialize',
    'is_bytes_like',
    'serialize',
    'serialize_to_buffers',
]


def _loaded_type(module: str, name: str) -> Any:
    """Return `module.name` if `module` is already imported, else `None`."""
    loaded = sys.modules.get(module)
    return None if loaded is None else getattr(loaded, name, None)


def serialize(obj: Any) -> bytes:
    """Serialize an object to bytes.

    Args:
        obj: Object to serialize.

    Returns:
        A `bytes` object that `deserialize` turns back into an equal
        object.

    Raises:
        SerializationError: If neither pickle nor cloudpickle can
            serialize `obj`.
    """
    return join_bytes(serialize_to_buffers(obj))


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
        return sized(BYTES, obj)
    if kind is str:
        try:
            return sized(STRING, obj.encode('utf-8'))
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
        return _pickled.encode(identifier, obj, pickle.dump)
    except Exception:
        pass
    try:
        return _pickled.encode(CLOUDPICKLE, obj, cloudpickle.dump)
    except Exception as e:
        raise SerializationError(
            f'Object of type {type(obj)} is not supported.',
        ) from e


def deserialize(data: BytesLike) -> Any:
    """Deserialize bytes produced by `serialize` (or by upstream ProxyStore).

    Args:
        data: Any bytes-like object. A writable buffer (`bytearray`,
            writable `memoryview`) is handed over: arrays in the result
            may alias it, so do not reuse it afterwards.

    Returns:
        The deserialized object.

    Raises:
        ValueError: If `data` is not bytes-like.
        SerializationError: If `data` is empty or has an unknown
            identifier (`Unknown identifier ...`), or if it is truncated,
            extended or corrupted (`Failed to deserialize object using the
            <name> serializer. ...`).
    """
    view = as_byte_view(data)
    found = _DECODERS.get(view[0]) if len(view) else None
    if found is not None:
        name, decoder = found
    else:
        upstream = _upstream.identify(view)
        if upstream is None:
            raise SerializationError(
                f'Unknown identifier {bytes(view[:2])!r} for deserialization.',
            )
        name, decoder = _upstream.DECODERS[upstream]
        view = view[_upstream.HEADER_SIZE :]
    try:
        return decoder(view)
    except Exception as e:
        raise SerializationError(
            f'Failed to deserialize object using the {name} serializer. {e}',
        ) from e


def _decode_bytes(view: memoryview) -> Any:
    return bytes(sized_payload(view))


def _decode_string(view: memoryview) -> Any:
    return str(sized_payload(view), 'utf-8')


def _pickled_with_pickle(view: memoryview) -> Any:
    return _pickled.decode(view, pickle.load)


def _pickled_with_cloudpickle(view: memoryview) -> Any:
    return _pickled.decode(view, cloudpickle.load)


_DECODERS: dict[int, tuple[str, Callable[[memoryview], Any]]] = {
    identifier[0]: (NAMES[identifier], decoder)
    for identifier, decoder in (
        (BYTES, _decode_bytes),
        (STRING, _decode_string),
        (NUMPY, _numpy.decode),
        (PANDAS, _pickled_with_pickle),
        (POLARS, _polars.decode),
        (PICKLE, _pickled_with_pickle),
        (CLOUDPICKLE, _pickled_with_cloudpickle),
    )
}
"""Serializer name and decoder of each identifier, by its byte value."""
