"""Both front ends (our server, Quart), requests sessions, TLS, listeners."""

from __future__ import annotations

import asyncio
import os
import pathlib
import socket
import ssl
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from proxystore.connectors.endpoint import EndpointConnector
from proxystore.endpoint import client
from proxystore.endpoint import serve as serve_module
from proxystore.endpoint.commands import EndpointCommandError
from proxystore.endpoint.commands import new_endpoint_config
from proxystore.endpoint.commands import prepare_start
from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.constants import MAX_CHUNK_LENGTH
from proxystore.endpoint.endpoint import Endpoint
from proxystore.endpoint.serve import check_listener
from proxystore.endpoint.serve import create_app
from proxystore.endpoint.serve import run_server
from proxystore.endpoint.storage import DictStorage
from tests.fixtures.endpoint import endpoint_process
from tests.fixtures.ports import free_port

pytestmark = pytest.mark.timeout(120)


def test_module_attributes() -> None:
    assert serve_module.MAX_CHUNK_LENGTH == MAX_CHUNK_LENGTH
    assert client.MAX_CHUNK_LENGTH == MAX_CHUNK_LENGTH
    assert client.RequestException is requests.exceptions.RequestException
    assert serve_module._get_auth_headers(None) == {}
    with pytest.raises(ValueError, match='Unknown relay authentication'):
        serve_module._get_auth_headers('magic')  # type: ignore[arg-type]


def _app(**options: Any) -> Any:
    endpoint = Endpoint(
        'quart',
        uuid.uuid4(),
        storage=DictStorage(max_object_size=100),
    )
    return create_app(endpoint, **options)


def test_quart_app_serves_the_same_routes() -> None:
    app = _app()

    async def scenario() -> None:
        async with app.test_app():
            test = app.test_client()
            assert app.config['endpoint'].name == 'quart'
            response = await test.get('/endpoint')
            assert (await response.get_json())['name'] == 'quart'
            response = await test.post('/set?key=k', data=b'value')
            assert response.status_code == 200
            response = await test.get('/exists?key=k')
            assert await response.get_json() == {'exists': True}
            response = await test.get('/get?key=k')
            assert await response.get_data() == b'value'
            response = await test.post('/evict?key=k')
            assert response.status_code == 200
            response = await test.get('/get?key=k')
            assert response.status_code == 404
            assert (
                await response.get_data()
                == b'no data associated with request key'
            )
            response = await test.get('/get')
            assert response.status_code == 400
            assert await response.get_data() == b'request missing key'
            response = await test.get('/get?key=k&endpoint=nope')
            assert await response.get_data() == b'nope is not a valid UUID4'
            response = await test.post('/set?key=empty', data=b'')
            assert response.status_code == 200  # ours stores empty blobs
            response = await test.post('/set?key=big', data=b'x' * 101)
            assert response.status_code == 413
            response = await test.get('/set?key=k')
            assert response.status_code == 405
            assert (await test.get('/nowhere')).status_code == 404
            assert (await test.get('/exists?key=big')).status_code == 200
            response = await test.get('/exists?key=big')
            assert await response.get_json() == {'exists': False}

    asyncio.run(scenario())


def test_quart_app_checks_the_token() -> None:
    app = _app(token='quart-token')

    async def scenario() -> None:
        async with app.test_app():
            test = app.test_client()
            assert (await test.get('/')).status_code == 200
            response = await test.post('/set?key=k', data=b'v')
            assert response.status_code == 401
            response = await test.post(
                '/set?key=k',
                data=b'v',
                headers={'Authorization': 'Bearer quart-token'},
            )
            assert response.status_code == 200

    asyncio.run(scenario())


def test_requests_session_client(shared_endpoint: Any) -> None:
    address = shared_endpoint.local_url()
    with requests.Session() as session:
        data = os.urandom(3 * MAX_CHUNK_LENGTH + 17)  # several chunks
        client.put(address, 'rq', data, session=session)
        assert client.exists(address, 'rq', session=session)
        assert client.get(address, 'rq', session=session) == data
        client.evict(address, 'rq', session=session)
        assert client.get(address, 'rq', session=session) is None
        with pytest.raises(requests.exceptions.RequestException) as info:
            client.get(address, '../bad', session=session)
        assert info.value.response.status_code == 400
        assert str(info.value).startswith(
            'Endpoint returned HTTP error code 400.',
        )


def test_large_get_is_chunked_in_1mb_pieces(shared_endpoint: Any) -> None:
    address = shared_endpoint.local_url()
    data = os.urandom(2 * MAX_CHUNK_LENGTH + 5)
    client.put(address, 'pieces', data)
    response = requests.get(
        f'{address}/get',
        params={'key': 'pieces'},
        stream=True,
        timeout=30,
    )
    assert response.headers['Transfer-Encoding'] == 'chunked'
    sizes = [len(c) for c in response.raw.read_chunked(decode_content=False)]
    assert sizes == [MAX_CHUNK_LENGTH, MAX_CHUNK_LENGTH, 5]
    assert client.get(address, 'pieces') == data


def test_our_errors_are_requests_errors(shared_endpoint: Any) -> None:
    address = shared_endpoint.local_url()
    with pytest.raises(requests.exceptions.RequestException) as info:
        client.put(address, 'bad/key', b'x')
    assert info.value.response.status_code == 400
    port = free_port()
    with pytest.raises(requests.exceptions.ConnectionError):
        client.get(f'http://127.0.0.1:{port}', 'k')


@pytest.fixture(scope='module')
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> Any:
    trustme = pytest.importorskip('trustme')
    directory = tmp_path_factory.mktemp('endpoint-tls')
    cert = trustme.CA().issue_cert('127.0.0.1', 'localhost')
    certfile = directory / 'endpoint.pem'
    keyfile = directory / 'endpoint.key'
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    os.chmod(keyfile, 0o600)
    return str(certfile), str(keyfile)


@pytest.fixture(scope='module')
def tls_endpoint(
    tmp_path_factory: pytest.TempPathFactory,
    tls_files: Any,
) -> Iterator[tuple[str, EndpointConfig]]:
    # Found: the endpoint server had no TLS.
    home = str(tmp_path_factory.mktemp('tls-home'))
    certfile, keyfile = tls_files
    with endpoint_process(
        home,
        'secure',
        token='tls-token',
        certfile=certfile,
        keyfile=keyfile,
    ) as config:
        yield home, config


def test_tls_endpoint_serves_https(tls_endpoint: Any) -> None:
    home, config = tls_endpoint
    assert config.local_url().startswith('https://127.0.0.1:')
    with EndpointConnector([config.uuid], proxystore_dir=home) as connector:
        key = connector.put(b'over tls')
        assert connector.get(key) == b'over tls'
    # Plain HTTP gets no answer from a TLS server.
    with socket.create_connection(('127.0.0.1', config.port), 10) as sock:
        sock.sendall(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
        assert not sock.recv(100).startswith(b'HTTP/1.1 200')
    # A client that does not trust the certificate refuses it.
    with pytest.raises(client.RequestException):
        client.exists(config.local_url(), 'k', token='tls-token')


def test_tls_endpoint_from_the_cli(tls_endpoint: Any) -> None:
    from click.testing import CliRunner

    from proxystore.endpoint.cli import cli

    home, _ = tls_endpoint
    result = CliRunner().invoke(
        cli,
        ['--proxystore-dir', home, 'test', 'secure', 'exists', 'nothing'],
    )
    assert result.exit_code == 0, result.output
    assert 'Object exists: False' in result.output


def _config(**fields: Any) -> EndpointConfig:
    return EndpointConfig(
        name='ep',
        uuid=str(uuid.uuid4()),
        port=free_port(),
        **fields,
    )


def test_unauthenticated_wide_listener_is_refused() -> None:
    # Found: a configured endpoint listened on 0.0.0.0 without a token.
    config = _config(host='0.0.0.0')
    with pytest.raises(ValueError, match='Refusing to serve endpoint ep'):
        check_listener(config)
    # run_server refuses before it binds anything.
    with pytest.raises(ValueError, match='without authentication'):
        asyncio.run(run_server(config, asyncio.Event()))
    check_listener(_config(host='0.0.0.0', token='t'))
    check_listener(_config(host='127.0.0.1'))
    with pytest.raises(ValueError, match='NoneType as host'):
        check_listener(_config())


def test_asked_for_wide_listener_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    check_listener(_config(host='0.0.0.0', allow_unauthenticated=True))
    assert 'without authentication' in caplog.text


def test_start_gives_a_wide_upstream_config_a_token(
    tmp_path: pathlib.Path,
) -> None:
    home = str(tmp_path)
    directory = tmp_path / 'wide'
    directory.mkdir()
    (directory / 'config.toml').write_text(
        f'name = "wide"\nuuid = "{uuid.uuid4()}"\nport = {free_port()}\n'
        'host = "0.0.0.0"\nhost_type = "static"\n',
    )
    config, _ = prepare_start('wide', home)
    assert config.token is not None
    assert oct(os.stat(directory / 'config.toml').st_mode & 0o777) == '0o600'


def test_configure_errors_leave_nothing_behind(tmp_path: pathlib.Path) -> None:
    home = str(tmp_path)
    with pytest.raises(EndpointCommandError, match='Invalid endpoint config'):
        new_endpoint_config('ep', port=0, proxystore_dir=home)
    with pytest.raises(EndpointCommandError, match='Server must start with'):
        new_endpoint_config(
            'ep',
            port=1,
            relay_address='http://x',
            proxystore_dir=home,
        )
    assert os.listdir(home) == []


def test_ssl_context_pins_the_certificate(tls_files: Any) -> None:
    certfile, keyfile = tls_files
    config = _config(host='127.0.0.1', certfile=certfile, keyfile=keyfile)
    context = config.client_ssl_context()
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert _config(host='127.0.0.1').client_ssl_context() is None
