r"""Messages endpoints exchange with their peers, and their wire format.

A request to a peer endpoint travels as an `EndpointRequest`; the peer
answers with the same object, `kind='response'`. On the wire (the data
channels of a peer connection) a message is upstream ProxyStore's format:
`b'PK\\n'` followed by a pickle of the dataclass, so our endpoints and
upstream's can peer.

Peer bytes are never unpickled freely: `decode_request` uses an unpickler
that admits only `EndpointRequest`, builtin containers, bytes, str and
numbers, and exception classes (the endpoint's and peering's, and
builtin `Exception` subclasses). Anything else is refused with
`MessageDecodeError` and logged.
"""

from __future__ import annotations

import builtins
import dataclasses
import io
import logging
import pickle
from typing import Literal

logger = logging.getLogger(__name__)

PICKLE_IDENTIFIER = b'PK\n'
"""Prefix of a pickled message (upstream's serializer identifier)."""

PICKLE_PROTOCOL = max(pickle.HIGHEST_PROTOCOL, 5)
"""Pickle protocol of encoded messages."""

_EXCEPTION_MODULES = frozenset(
    {'proxystore.endpoint.exceptions', 'proxystore.p2p.exceptions'},
)
# Protocols 4 and 5 write bytes, str, numbers and containers with their
# own opcodes; a pickle names these classes only for REDUCE calls, which
# are harmless for them. `bytes` and `bytearray` are left out: `bytes(n)`
# would let a peer allocate any amount of memory.
_BUILTIN_TYPES = frozenset(
    {
        'bool',
        'complex',
        'dict',
        'float',
        'frozenset',
        'int',
        'list',
        'set',
        'str',
        'tuple',
    },
)


@dataclasses.dataclass
class EndpointRequest:
    """A request to a peer endpoint, or the peer's response to it.

    Attributes:
        kind: `'request'` or `'response'`.
        op: Operation to run on the peer.
        uuid: Id of the request (a uuid4 string) matching the response.
        key: Key of the object.
        data: Object bytes (request of `set`, response of `get`).
        exists: Answer of an `exists` request.
        error: Exception the operation raised on the peer.
    """

    kind: Literal['request', 'response']
    op: Literal['evict', 'exists', 'get', 'set']
    uuid: str
    key: str
    data: bytes | None = None
    exists: bool | None = None
    error: Exception | None = None


class MessageDecodeError(Exception):
    """Bytes from a peer are not an acceptable `EndpointRequest`."""


def _allowed(module: str, name: str) -> type | None:
    """Return the class `module.name` if the allow-list admits it."""
    if module == __name__ and name == 'EndpointRequest':
        return EndpointRequest
    if module == 'builtins':
        value = getattr(builtins, name, None)
        if name in _BUILTIN_TYPES:
            return value
        if isinstance(value, type) and issubclass(value, Exception):
            return value
        return None
    if module in _EXCEPTION_MODULES:
        # Imported here: the exception modules are the only ones loaded,
        # and only when a message names them.
        import importlib

        value = getattr(importlib.import_module(module), name, None)
        if isinstance(value, type) and issubclass(value, Exception):
            return value
    return None


class _RestrictedUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> type:
        value = _allowed(module, name)
        if value is None:
            raise MessageDecodeError(
                f'Refused to unpickle {module}.{name} from a peer: only '
                'EndpointRequest, builtin values and endpoint exceptions '
                'are allowed.',
            )
        return value

    def persistent_load(self, pid: object) -> object:
        raise MessageDecodeError('Persistent ids are not allowed.')


def transportable_error(error: Exception) -> Exception:
    """Return `error` if a peer's decoder admits it, else a stand-in.

    A peer refuses exception classes outside the allow-list (and their
    arguments must be plain values), so such an error is replaced by a
    `PeerRequestError` carrying its type name and message.
    """
    cls = type(error)
    if _allowed(cls.__module__, cls.__qualname__) is cls and all(
        isinstance(arg, (str, int, float, bool, type(None)))
        for arg in error.args
    ):
        return error
    from proxystore.endpoint.exceptions import PeerRequestError

    return PeerRequestError(f'{cls.__name__}: {error}')


def encode_request(request: EndpointRequest) -> bytes:
    """Encode a request or response in upstream's wire format.

    Raises:
        TypeError: If `request` is not an `EndpointRequest`.
    """
    if not isinstance(request, EndpointRequest):
        raise TypeError(
            f'Expected an EndpointRequest, got {type(request).__name__}.',
        )
    buffer = io.BytesIO()
    _PlainPickler(buffer, protocol=PICKLE_PROTOCOL).dump(request)
    return PICKLE_IDENTIFIER + buffer.getvalue()


class _PlainPickler(pickle.Pickler):
    # An empty dispatch table ignores reducers registered globally through
    # copyreg (tblib, which Dask and Parsl install, registers one for every
    # exception class), so errors always travel in the plain form that a
    # peer's restricted unpickler admits.
    dispatch_table = {}


def decode_request(message: bytes | str) -> EndpointRequest:
    """Decode bytes from a peer with the restricted unpickler.

    Raises:
        MessageDecodeError: If the bytes are not a pickled
            `EndpointRequest`, use a class outside the allow-list, or
            have malformed fields. The refusal is also logged.
    """
    try:
        request = _decode(message)
    except MessageDecodeError as e:
        logger.warning('Refused a message from a peer: %s', e)
        raise
    return request


def _decode(message: bytes | str) -> EndpointRequest:
    if not isinstance(message, (bytes, bytearray, memoryview)):
        raise MessageDecodeError(
            f'Expected bytes from the peer, got {type(message).__name__}.',
        )
    view = memoryview(message)
    if view[: len(PICKLE_IDENTIFIER)] != PICKLE_IDENTIFIER:
        raise MessageDecodeError('Message does not start with the pickle id.')
    stream = io.BytesIO(view[len(PICKLE_IDENTIFIER) :])
    try:
        request = _RestrictedUnpickler(stream).load()
    except MessageDecodeError:
        raise
    except Exception as e:
        raise MessageDecodeError(f'Malformed pickle: {e!r}') from e
    if not isinstance(request, EndpointRequest):
        raise MessageDecodeError(
            f'Expected an EndpointRequest, got {type(request).__name__}.',
        )
    _check_fields(request)
    return request


def _check_fields(request: EndpointRequest) -> None:
    """Check the field types of a decoded message.

    A pickle sets attributes without calling `__init__`, so a peer could
    send any allowed value in any field.
    """
    fields = vars(request)
    problems = []
    if fields.get('kind') not in ('request', 'response'):
        problems.append('kind')
    if fields.get('op') not in ('evict', 'exists', 'get', 'set'):
        problems.append('op')
    for name in ('uuid', 'key'):
        if not isinstance(fields.get(name), str):
            problems.append(name)
    if not isinstance(fields.get('data'), (bytes, bytearray, type(None))):
        problems.append('data')
    if not isinstance(fields.get('exists'), (bool, type(None))):
        problems.append('exists')
    if not isinstance(fields.get('error'), (Exception, type(None))):
        problems.append('error')
    if set(fields) != {f.name for f in dataclasses.fields(EndpointRequest)}:
        problems.append('field names')
    if problems:
        raise MessageDecodeError(
            f'EndpointRequest has invalid {", ".join(problems)}.',
        )
