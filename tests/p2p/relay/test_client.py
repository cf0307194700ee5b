"""RelayClient against a real relay server on loopback."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import sys
import uuid

import pytest
import websockets.asyncio.server

from proxystore.p2p.relay.authenticate import NullAuthenticator
from proxystore.p2p.relay.client import RelayClient
from proxystore.p2p.relay.exceptions import RelayNotConnectedError
from proxystore.p2p.relay.exceptions import RelayRegistrationError
from proxystore.p2p.relay.messages import PeerDataMessage
from proxystore.p2p.relay.messages import RelayMessageEncodeError
from proxystore.p2p.relay.messages import RelayResponse
from proxystore.p2p.relay.messages import encode_relay_message
from proxystore.p2p.relay.server import RelayServer
from tests.fixtures.ports import free_port
from tests.p2p.relay.support import HeaderAuthenticator
from tests.p2p.relay.support import bearer
from tests.p2p.relay.support import in_process_relay
from tests.p2p.relay.support import run
from tests.p2p.relay.support import until

pytestmark = pytest.mark.timeout(60)


def test_address_must_be_a_websocket_url() -> None:
    with pytest.raises(ValueError, match='ws:// or wss://'):
        RelayClient('http://localhost:8700')


def test_defaults() -> None:
    client = RelayClient('ws://localhost:8700')
    assert isinstance(client.uuid, uuid.UUID)
    assert client.name
    assert client.timeout == 10
    assert client.features == frozenset()
    with pytest.raises(RelayNotConnectedError):
        _ = client.websocket


def test_certificates_are_verified_by_default() -> None:
    client = RelayClient('wss://localhost:8700')
    assert client._ssl_context is not None
    assert client._ssl_context.verify_mode == ssl.CERT_REQUIRED
    assert client._ssl_context.check_hostname
    insecure = RelayClient('wss://localhost:8700', verify_certificate=False)
    assert insecure._ssl_context is not None
    assert insecure._ssl_context.verify_mode == ssl.CERT_NONE
    assert RelayClient('ws://localhost:8700')._ssl_context is None


def test_send_and_recv_connect_lazily() -> None:
    async def main() -> None:
        async with in_process_relay() as (server, address):
            a = RelayClient(address, client_name='a')
            b = RelayClient(address, client_name='b')
            await b.connect()
            message = PeerDataMessage(a.uuid, b.uuid, 'aGk=')
            await a.send(message)
            assert a.websocket.state.name == 'OPEN'
            assert a.features == {'peer_data'}
            assert await b.recv() == message
            assert {c.name for c in server.client_manager.get_clients()} == {
                'a',
                'b',
            }
            with pytest.raises(RelayMessageEncodeError):
                await a.send('not a message')  # type: ignore[arg-type]
            await a.close()
            await b.close()

    run(main())


def test_unreachable_relay_without_retry_raises() -> None:
    async def main() -> None:
        client = RelayClient(f'ws://127.0.0.1:{free_port()}', timeout=2)
        with pytest.raises(OSError):
            await client.connect(retry=False)

    run(main())


def test_connect_retries_until_the_relay_is_up() -> None:
    async def main() -> None:
        port = free_port()
        server = RelayServer(NullAuthenticator())
        client = RelayClient(f'ws://127.0.0.1:{port}', timeout=2)
        client._initial_backoff_seconds = 0.05
        connecting = asyncio.create_task(client.connect())
        await asyncio.sleep(0.2)
        assert not connecting.done()
        async with websockets.asyncio.server.serve(
            server.handler,
            '127.0.0.1',
            port,
        ):
            await connecting
            assert server.client_manager.get_client_by_uuid(client.uuid)
            await client.close()

    run(main())


def test_reconnects_after_the_relay_drops_the_connection() -> None:
    async def main() -> None:
        async with in_process_relay() as (server, address):
            client = RelayClient(address)
            client._initial_backoff_seconds = 0.05
            await client.connect()
            registered = server.client_manager.get_client_by_uuid(client.uuid)
            assert registered is not None
            old_socket = client.websocket
            await server.unregister(registered, 1001, 'going away')
            await until(
                lambda: (
                    (
                        c := server.client_manager.get_client_by_uuid(
                            client.uuid
                        )
                    )
                    is not None
                    and c is not registered
                ),
            )
            # The client takes the new socket once the reply arrives.
            await until(lambda: client._websocket is not old_socket)
            assert client.websocket.state.name == 'OPEN'
            await client.close()

    run(main())


@pytest.mark.parametrize('code', [4001, 4002, 4004])
def test_unrecoverable_close_codes_are_final(code: int) -> None:
    async def main() -> None:
        async with in_process_relay() as (server, address):
            client = RelayClient(address)
            await client.connect()
            registered = server.client_manager.get_client_by_uuid(client.uuid)
            assert registered is not None
            await server.unregister(registered, code, 'no more')
            await until(lambda: client._refused is not None)
            with pytest.raises(RelayRegistrationError, match='no more'):
                await client.connect()
            assert server.client_manager.get_clients() == []
            await client.close()

    run(main())


def test_registration_refused_during_connect() -> None:
    async def main() -> None:
        server = RelayServer(HeaderAuthenticator())
        async with in_process_relay(server) as (_, address):
            client = RelayClient(address, extra_headers=bearer('banned'))
            with pytest.raises(RelayRegistrationError, match='4002'):
                await client.connect()
            anonymous = RelayClient(address)
            with pytest.raises(RelayRegistrationError, match='4001'):
                await anonymous.connect()
            good = RelayClient(address, extra_headers=bearer('alice'))
            await good.connect()
            await good.close()

    run(main())


async def _serve_replies(replies: list[str | bytes]):
    async def handler(websocket: websockets.asyncio.server.ServerConnection):
        await websocket.recv()
        await websocket.send(replies.pop(0))
        await websocket.wait_closed()

    return await websockets.asyncio.server.serve(handler, '127.0.0.1', 0)


@pytest.mark.parametrize(
    ('reply', 'error'),
    [
        ('garbage', 'Unable to decode response message'),
        (
            encode_relay_message(
                RelayResponse(success=False, message='nope', error=True),
            ),
            'Got exception: nope',
        ),
        (
            encode_relay_message(
                PeerDataMessage(uuid.uuid4(), uuid.uuid4(), '')
            ),
            'unknown message type',
        ),
    ],
)
def test_bad_registration_replies(reply: str, error: str) -> None:
    async def main() -> None:
        ws_server = await _serve_replies([reply])
        port = ws_server.sockets[0].getsockname()[1]
        client = RelayClient(f'ws://127.0.0.1:{port}')
        with pytest.raises(RelayRegistrationError, match=error):
            await client.connect()
        ws_server.close()
        await ws_server.wait_closed()

    run(main())


def test_relay_modules_only_warn_without_websockets() -> None:
    code = (
        'import sys, warnings\n'
        "sys.modules['websockets'] = None\n"
        'with warnings.catch_warnings(record=True) as caught:\n'
        "    warnings.simplefilter('always')\n"
        '    import proxystore.p2p.relay.client\n'
        '    import proxystore.p2p.relay.server\n'
        '    import proxystore.p2p.relay.run\n'
        'print(len(caught), caught[0].message)\n'
    )
    result = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.startswith('3 ')
    assert 'pip install proxystore[endpoints]' in result.stdout
