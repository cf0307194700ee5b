"""The HTTP API of a real endpoint process."""

from __future__ import annotations

import http.client
import json
import socket
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from proxystore.connectors.endpoint import EndpointConnector
from proxystore.connectors.endpoint import EndpointConnectorError
from proxystore.endpoint import client
from proxystore.endpoint.exceptions import EndpointAuthenticationError
from proxystore.endpoint.exceptions import MalformedRequestError
from proxystore.endpoint.exceptions import ObjectSizeExceededError
from proxystore.endpoint.session import EndpointSession
from tests.fixtures.endpoint import endpoint_process

TOKEN = 'correct-horse-battery-staple'
LIMIT = 1024


@pytest.fixture(scope='module')
def strict_endpoint(endpoint_home: str) -> Iterator[Any]:
    """An endpoint requiring a token with a 1 KiB object limit."""
    with endpoint_process(
        endpoint_home,
        'strict',
        token=TOKEN,
        max_object_size=LIMIT,
    ) as config:
        yield config


@pytest.fixture
def session(shared_endpoint: Any) -> Iterator[EndpointSession]:
    with EndpointSession(shared_endpoint.local_url()) as session:
        yield session


def _raw(config: Any, method: str, path: str, **kwargs: Any) -> Any:
    parts = urllib.parse.urlsplit(config.local_url())
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path, **kwargs)
        response = conn.getresponse()
        return response.status, response.read().decode()
    finally:
        conn.close()


def test_health_and_identity(shared_endpoint: Any) -> None:
    assert _raw(shared_endpoint, 'GET', '/') == (200, '{"status": "ok"}')
    info = client.identity(shared_endpoint.local_url())
    assert info == {'uuid': shared_endpoint.uuid, 'name': 'shared'}
    assert client.is_healthy(shared_endpoint.local_url())


def test_round_trip_with_and_without_own_uuid(
    shared_endpoint: Any,
    session: EndpointSession,
) -> None:
    address = shared_endpoint.local_url()
    client.put(address, 'rt-1', b'one', session=session)
    client.put(address, 'rt-2', b'two', shared_endpoint.uuid, session=session)
    assert client.get(address, 'rt-1', shared_endpoint.uuid) == b'one'
    assert client.get(address, 'rt-2', session=session) == b'two'
    assert client.exists(address, 'rt-1', session=session)
    client.evict(address, 'rt-1', session=session)
    assert not client.exists(address, 'rt-1', session=session)
    assert client.get(address, 'rt-1', session=session) is None


@pytest.mark.parametrize(
    ('path', 'message'),
    [
        ('/get', 'request missing key'),
        ('/get?key=../../etc/passwd', 'Invalid object key'),
        ('/exists?key=a%2Fb', 'Invalid object key'),
        ('/evict?key=' + 'x' * 300, 'Invalid object key'),
        ('/get?key=ok&endpoint=not-a-uuid', 'not-a-uuid is not a valid UUID4'),
    ],
)
def test_malformed_requests_get_400(
    shared_endpoint: Any,
    session: EndpointSession,
    path: str,
    message: str,
) -> None:
    address = shared_endpoint.local_url()
    client.put(address, 'bystander', b'still here', session=session)
    method = 'POST' if path.startswith('/evict') else 'GET'
    status, text = _raw(shared_endpoint, method, path)
    assert status == 400
    assert message in text
    assert client.get(address, 'bystander', session=session) == b'still here'


def test_client_raises_clear_errors(shared_endpoint: Any) -> None:
    address = shared_endpoint.local_url()
    with pytest.raises(MalformedRequestError, match='Invalid object key'):
        client.put(address, '../escape', b'x')
    # Without peering, a request naming another endpoint is served here.
    client.put(address, 'solo', b'local', session=None)
    assert client.get(address, 'solo', str(uuid.uuid4())) == b'local'
    assert client.get(address, 'k', uuid.uuid4()) is None


def test_missing_object_is_404(shared_endpoint: Any) -> None:
    status, text = _raw(shared_endpoint, 'GET', '/get?key=never-stored')
    assert status == 404
    assert text == 'no data associated with request key'


def test_wrong_method(shared_endpoint: Any) -> None:
    assert _raw(shared_endpoint, 'GET', '/set?key=k')[0] == 405


def test_chunked_upload(
    shared_endpoint: Any,
    session: EndpointSession,
) -> None:
    chunks = [b'a' * 1000, b'b' * 5000, b'c']
    status, _ = _raw(
        shared_endpoint,
        'POST',
        '/set?key=chunked',
        body=iter(chunks),
        encode_chunked=True,
        headers={'Transfer-Encoding': 'chunked'},
    )
    assert status == 200
    got = client.get(shared_endpoint.local_url(), 'chunked', session=session)
    assert got == b''.join(chunks)


def test_large_blob_streams_both_ways(
    shared_endpoint: Any,
    session: EndpointSession,
) -> None:
    data = bytes(range(256)) * (40 * 1024 + 3)  # ~10 MiB, several chunks
    address = shared_endpoint.local_url()
    client.put(address, 'large', memoryview(data), session=session)
    assert client.get(address, 'large', session=session) == data
    client.evict(address, 'large', session=session)


def test_truncated_upload_stores_nothing(
    shared_endpoint: Any,
    session: EndpointSession,
) -> None:
    address = shared_endpoint.local_url()
    parts = urllib.parse.urlsplit(address)
    assert parts.hostname is not None
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(
            b'POST /set?key=truncated HTTP/1.1\r\nHost: x\r\n'
            b'Content-Length: 100\r\n\r\n' + b'x' * 50,
        )
    assert not client.exists(address, 'truncated', session=session)
    assert client.is_healthy(address)


def test_token_required(strict_endpoint: Any) -> None:
    address = strict_endpoint.local_url()
    client.put(address, 'guarded', b'secret data', token=TOKEN)
    assert _raw(strict_endpoint, 'GET', '/')[0] == 200
    for method, path in [
        ('GET', '/get?key=guarded'),
        ('POST', '/set?key=guarded'),
        ('GET', '/exists?key=guarded'),
        ('POST', '/evict?key=guarded'),
        ('GET', '/endpoint'),
    ]:
        status, text = _raw(strict_endpoint, method, path)
        assert status == 401, path
        assert 'bearer token' in text
    with pytest.raises(EndpointAuthenticationError):
        client.get(address, 'guarded')
    with pytest.raises(EndpointAuthenticationError):
        client.evict(address, 'guarded', token='wrong')
    assert client.get(address, 'guarded', token=TOKEN) == b'secret data'


def test_oversize_put_is_413_and_endpoint_keeps_serving(
    strict_endpoint: Any,
) -> None:
    address = strict_endpoint.local_url()
    with EndpointSession(address, token=TOKEN) as session:
        client.put(address, 'fits', b'x' * LIMIT, session=session)
        with pytest.raises(
            ObjectSizeExceededError,
            match=f'{LIMIT + 1} bytes exceeds .* {LIMIT} bytes',
        ):
            client.put(address, 'too-big', b'y' * (LIMIT + 1), session=session)
        # A large body is drained, not left to break the connection.
        with pytest.raises(ObjectSizeExceededError):
            client.put(address, 'fits', b'z' * 5_000_000, session=session)
        assert not client.exists(address, 'too-big', session=session)
        assert client.get(address, 'fits', session=session) == b'x' * LIMIT
    status, text = _raw(
        strict_endpoint,
        'POST',
        '/set?key=chunky',
        body=iter([b'a' * 600, b'b' * 600]),
        encode_chunked=True,
        headers={
            'Transfer-Encoding': 'chunked',
            'Authorization': f'Bearer {TOKEN}',
        },
    )
    assert status == 413
    assert 'exceeds' in text


def test_connector_uses_token_and_reports_oversize(
    strict_endpoint: Any,
    endpoint_home: str,
) -> None:
    with EndpointConnector(
        [strict_endpoint.uuid],
        proxystore_dir=endpoint_home,
    ) as connector:
        key = connector.put(b'small')
        with pytest.raises(EndpointConnectorError, match='exceeds'):
            connector.put(b'q' * (LIMIT + 1))
        assert connector.get(key) == b'small'


def test_exists_answer_is_json(shared_endpoint: Any) -> None:
    status, text = _raw(shared_endpoint, 'GET', '/exists?key=nothing-here')
    assert status == 200
    assert json.loads(text) == {'exists': False}


def test_bad_key_with_large_body_gets_400_on_same_connection(
    shared_endpoint: Any,
    session: EndpointSession,
) -> None:
    address = shared_endpoint.local_url()
    with pytest.raises(MalformedRequestError, match='Invalid object key'):
        client.put(address, 'bad/key', b'x' * 3_000_000, session=session)
    # The kept-alive connection still works.
    client.put(address, 'after-bad', b'ok', session=session)
    assert client.get(address, 'after-bad', session=session) == b'ok'


_WITHOUT_PEERING = """
import sys
sys.modules[{missing!r}] = None  # as on a machine without it
from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import EndpointRelayConfig
from proxystore.endpoint.serve import serve
config = EndpointConfig(
    name='lonely',
    uuid='7f0c2d5e-2f34-4a8e-9a4b-2a4a1c3f5d6e',
    host='127.0.0.1',
    port=1,
    relay=EndpointRelayConfig(address='ws://127.0.0.1:1'),
)
try:
    serve(config, log_level='CRITICAL')
except ImportError as e:
    print(e)
"""


@pytest.mark.parametrize('missing', ['aiortc', 'websockets'])
def test_relay_without_peering_installed_is_a_clear_error(
    missing: str,
    tmp_path: Any,
) -> None:
    # A relay in the config of a machine without aiortc or websockets:
    # `serve` stops before binding or opening storage, naming the extra
    # to install (it used to fail later with a NameError).
    result = subprocess.run(
        [sys.executable, '-c', _WITHOUT_PEERING.format(missing=missing)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    message = result.stdout
    assert 'Endpoint lonely has a relay (ws://127.0.0.1:1)' in message
    assert 'pip install proxystore[endpoints]' in message
    assert missing in message
    assert '--no-relay-server' in message
    assert list(tmp_path.iterdir()) == []
