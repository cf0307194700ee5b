"""EndpointRequest wire format and the restricted unpickler."""

from __future__ import annotations

import logging
import os
import pickle
import pickletools
import subprocess
import sys

import pytest

from proxystore.endpoint.exceptions import ObjectSizeExceededError
from proxystore.endpoint.exceptions import PeerRequestError
from proxystore.endpoint.messages import EndpointRequest
from proxystore.endpoint.messages import MessageDecodeError
from proxystore.endpoint.messages import decode_request
from proxystore.endpoint.messages import encode_request
from proxystore.endpoint.messages import transportable_error
from proxystore.p2p.exceptions import PeerConnectionError


def test_wire_format_is_upstreams() -> None:
    request = EndpointRequest('request', 'set', 'id', 'key', data=b'\x00' * 9)
    encoded = encode_request(request)
    assert encoded.startswith(b'PK\n')
    # A plain pickle of the dataclass, readable by upstream's deserialize.
    assert pickle.loads(encoded[3:]) == request
    ops = {op.name for op, _, _ in pickletools.genops(encoded[3:])}
    assert 'STACK_GLOBAL' in ops
    assert [f for f in vars(request)] == [
        'kind',
        'op',
        'uuid',
        'key',
        'data',
        'exists',
        'error',
    ]


@pytest.mark.parametrize(
    'error',
    [
        ObjectSizeExceededError('too big'),
        PeerConnectionError('gone'),
        KeyError('k'),
        PeerRequestError('x'),
    ],
)
def test_allowed_errors_roundtrip(error: Exception) -> None:
    response = EndpointRequest('response', 'get', 'id', 'k', error=error)
    decoded = decode_request(encode_request(response))
    assert type(decoded.error) is type(error)
    assert decoded.error is not None
    assert decoded.error.args == error.args


class Evil:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, ('echo pwned',))


@pytest.mark.parametrize(
    'payload',
    [
        pickle.dumps(Evil()),
        pickle.dumps(EndpointRequest('request', 'get', 'i', 'k', data=Evil())),  # type: ignore[arg-type]
        pickle.dumps(SystemExit(1)),
        pickle.dumps(bytes, protocol=2),
        pickle.dumps({'not': 'a request'}),
        b'garbage',
    ],
)
def test_refused_payloads(
    payload: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger='proxystore.endpoint.messages')
    with pytest.raises(MessageDecodeError):
        decode_request(b'PK\n' + payload)
    assert 'Refused a message from a peer' in caplog.text


def test_bad_fields_and_framing_are_refused() -> None:
    bad = EndpointRequest('request', 'drop', 'i', 'k')  # type: ignore[arg-type]
    with pytest.raises(MessageDecodeError, match='invalid op'):
        decode_request(encode_request(bad))
    bad = EndpointRequest('request', 'get', 'i', 'k', data='str')  # type: ignore[arg-type]
    with pytest.raises(MessageDecodeError, match='invalid data'):
        decode_request(encode_request(bad))
    with pytest.raises(MessageDecodeError, match='pickle id'):
        decode_request(
            pickle.dumps(EndpointRequest('request', 'get', 'i', 'k'))
        )
    with pytest.raises(MessageDecodeError, match='Expected bytes'):
        decode_request('PK\nstr')
    with pytest.raises(TypeError, match='EndpointRequest'):
        encode_request('x')  # type: ignore[arg-type]


def test_transportable_error() -> None:
    kept = ObjectSizeExceededError('big')
    assert transportable_error(kept) is kept

    class Local(Exception):
        pass

    replaced = transportable_error(Local('boom'))
    assert isinstance(replaced, PeerRequestError)
    assert str(replaced) == 'Local: boom'
    odd = transportable_error(ValueError(object()))
    assert isinstance(odd, PeerRequestError)


def test_errors_encode_plainly_when_tblib_reducers_are_installed() -> None:
    # Dask and Parsl install tblib's copyreg reducers for every exception
    # class; a peer's restricted unpickler would refuse that form, so the
    # requester would never get its answer. Run in a fresh interpreter so
    # the global reducers do not leak into other tests.
    code = (
        'import tblib.pickling_support\n'
        'from proxystore.endpoint.exceptions import ObjectSizeExceededError\n'
        'from proxystore.endpoint.messages import EndpointRequest\n'
        'from proxystore.endpoint.messages import decode_request\n'
        'from proxystore.endpoint.messages import encode_request\n'
        'tblib.pickling_support.install()\n'
        "e = ObjectSizeExceededError('too big')\n"
        "r = EndpointRequest('response', 'set', 'id', 'k', error=e)\n"
        'd = decode_request(encode_request(r))\n'
        'assert isinstance(d.error, ObjectSizeExceededError), d\n'
        "assert str(d.error) == 'too big'\n"
    )
    result = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
