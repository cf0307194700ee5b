"""The relay server in-process, with real websocket clients on loopback."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest
import websockets.asyncio.client
from websockets.exceptions import ConnectionClosed

from proxystore.p2p.relay.authenticate import NullAuthenticator
from proxystore.p2p.relay.config import RelayPeerDataConfig
from proxystore.p2p.relay.messages import PeerConnectionRequest
from proxystore.p2p.relay.messages import PeerDataMessage
from proxystore.p2p.relay.messages import RelayRegistrationRequest
from proxystore.p2p.relay.messages import RelayResponse
from proxystore.p2p.relay.messages import decode_relay_message
from proxystore.p2p.relay.messages import encode_relay_message
from proxystore.p2p.relay.secret import secret_headers
from proxystore.p2p.relay.server import REPLACED_REASON
from proxystore.p2p.relay.server import RelayServer
from tests.p2p.relay.support import HeaderAuthenticator
from tests.p2p.relay.support import bearer
from tests.p2p.relay.support import in_process_relay
from tests.p2p.relay.support import run
from tests.p2p.relay.support import until

pytestmark = pytest.mark.timeout(60)


async def connect(
    address: str,
    headers: dict[str, str] | None = None,
) -> websockets.asyncio.client.ClientConnection:
    return await websockets.asyncio.client.connect(
        address,
        additional_headers=headers,
    )


async def register(
    address: str,
    client_uuid: uuid.UUID | None = None,
    headers: dict[str, str] | None = None,
    name: str = 'test',
) -> tuple[websockets.asyncio.client.ClientConnection, uuid.UUID, str]:
    """Open a socket and register; return (socket, uuid, raw reply)."""
    client_uuid = uuid.uuid4() if client_uuid is None else client_uuid
    ws = await connect(address, headers)
    await ws.send(
        encode_relay_message(RelayRegistrationRequest(name, client_uuid)),
    )
    reply = await ws.recv()
    assert isinstance(reply, str)
    return ws, client_uuid, reply


async def closed_with(ws: websockets.asyncio.client.ClientConnection):
    with pytest.raises(ConnectionClosed):
        while True:
            await ws.recv()
    return ws.close_code, ws.close_reason


def test_registration_reply_advertises_peer_data() -> None:
    async def main() -> None:
        async with in_process_relay() as (server, address):
            ws, client_uuid, reply = await register(address, name='alpha')
            assert json.loads(reply) == {
                'success': True,
                'message': 'features=peer_data',
                'error': False,
                'message_type': 'relay_response',
            }
            client = server.client_manager.get_client_by_uuid(client_uuid)
            assert client is not None
            assert client.name == 'alpha'
            assert repr(client).startswith("Client(name='alpha', uuid=")
            assert 'user=NullUser()' in repr(client)
            await ws.close()
            await until(lambda: server.client_manager.get_clients() == [])

    run(main())


def test_peer_data_disabled_advertises_nothing() -> None:
    async def main() -> None:
        server = RelayServer(
            NullAuthenticator(),
            peer_data=RelayPeerDataConfig(enabled=False),
        )
        async with in_process_relay(server) as (_, address):
            ws, a, reply = await register(address)
            assert decode_relay_message(reply) == RelayResponse()
            await ws.send(
                encode_relay_message(PeerDataMessage(a, a, 'eA==')),
            )
            returned = decode_relay_message(await ws.recv())
            assert isinstance(returned, PeerDataMessage)
            assert returned.error == 'This relay does not forward peer data.'
            await ws.close()

    run(main())


@pytest.mark.parametrize(
    ('frame', 'code', 'reason'),
    [
        (b'binary', 4000, 'Unknown message type.'),
        ('not json', 4000, 'Unknown message type.'),
        ('{"message_type": "nope"}', 4000, 'Unknown message type.'),
        (
            encode_relay_message(
                PeerConnectionRequest(
                    uuid.uuid4(),
                    'x',
                    uuid.uuid4(),
                    'offer',
                    '',
                ),
            ),
            4002,
            'ForbiddenError: The client has not registered',
        ),
        (
            encode_relay_message(RelayResponse()),
            4002,
            'ForbiddenError: The client has not registered',
        ),
    ],
)
def test_bad_first_frames_close_the_socket(
    frame: str | bytes,
    code: int,
    reason: str,
) -> None:
    async def main() -> None:
        async with in_process_relay() as (server, address):
            ws = await connect(address)
            await ws.send(frame)
            actual_code, actual_reason = await closed_with(ws)
            assert actual_code == code
            assert actual_reason.startswith(reason)
            assert server.client_manager.get_clients() == []

    run(main())


def test_oversized_frames_close_with_4003() -> None:
    async def main() -> None:
        server = RelayServer(NullAuthenticator(), max_message_bytes=500)
        async with in_process_relay(server) as (_, address):
            ws, a, _ = await register(address)
            await ws.send(
                encode_relay_message(PeerDataMessage(a, a, 'x' * 600)),
            )
            assert await closed_with(ws) == (
                4003,
                'Message length exceeds limit.',
            )
            await until(lambda: server.client_manager.get_clients() == [])


def test_a_relay_response_from_a_client_closes_with_1011() -> None:
    async def main() -> None:
        async with in_process_relay() as (server, address):
            ws, _, _ = await register(address)
            await ws.send(encode_relay_message(RelayResponse()))
            code, reason = await closed_with(ws)
            assert code == 1011
            assert reason == 'Unexpected RelayResponse from a client.'
            await until(lambda: server.client_manager.get_clients() == [])

    run(main())


def test_no_registration_in_time_closes_the_socket() -> None:
    async def main() -> None:
        server = RelayServer(NullAuthenticator(), registration_timeout=0.2)
        async with in_process_relay(server) as (_, address):
            ws = await connect(address)
            assert await closed_with(ws) == (
                1008,
                'No registration received.',
            )

    run(main())


def test_forwarding_between_registered_peers_is_metered() -> None:
    async def main() -> None:
        async with in_process_relay() as (server, address):
            a_ws, a, _ = await register(address, name='a')
            b_ws, b, _ = await register(address, name='b')
            offer = PeerConnectionRequest(a, 'a', b, 'offer', 'sdp')
            await a_ws.send(encode_relay_message(offer))
            assert decode_relay_message(await b_ws.recv()) == offer
            data = PeerDataMessage(a, b, 'aGVsbG8=')
            frame = encode_relay_message(data)
            for _ in range(3):
                await a_ws.send(frame)
                assert decode_relay_message(await b_ws.recv()) == data
            stats = server.stats()
            assert stats[a].messages_forwarded == 4
            assert stats[a].peer_data_messages == 3
            assert stats[a].peer_data_bytes == 3 * len(frame)
            assert stats[a].bytes_forwarded == (
                3 * len(frame) + len(encode_relay_message(offer))
            )
            assert stats[b].messages_forwarded == 0
            # stats() is a snapshot.
            stats[a].messages_forwarded = 0
            assert server.stats()[a].messages_forwarded == 4
            await a_ws.close()
            await b_ws.close()

    run(main())


def test_forwarding_errors_go_back_to_the_sender() -> None:
    async def main() -> None:
        server = RelayServer(
            HeaderAuthenticator(),
            peer_data=RelayPeerDataConfig(max_frame_bytes=400),
        )
        async with in_process_relay(server) as (_, address):
            a_ws, a, _ = await register(address, headers=bearer('alice'))
            b_ws, b, _ = await register(address, headers=bearer('alice'))
            m_ws, m, _ = await register(address, headers=bearer('mallory'))
            cases = [
                (
                    PeerDataMessage(a, uuid.uuid4(), 'eA=='),
                    'not registered this relay server',
                ),
                (PeerDataMessage(a, m, 'eA=='), 'owned by a different user'),
                (
                    PeerConnectionRequest(a, 'a', m, 'offer', ''),
                    'owned by a different user',
                ),
                (PeerDataMessage(b, b, 'eA=='), 'source_uuid'),
                (PeerDataMessage(a, b, 'x' * 500), 'exceeds the relay limit'),
            ]
            for message, error in cases:
                await a_ws.send(encode_relay_message(message))
                returned = decode_relay_message(await a_ws.recv())
                assert type(returned) is type(message)
                assert returned.error is not None
                assert error in returned.error
            assert server.stats()[a].errors_returned == len(cases)
            assert server.stats()[a].messages_forwarded == 0
            # Nothing reached b or mallory.
            for ws in (b_ws, m_ws):
                with pytest.raises(asyncio.TimeoutError):
                    await asyncio.wait_for(ws.recv(), 0.2)
            for ws in (a_ws, b_ws, m_ws):
                await ws.close()

    run(main())


def test_peer_data_is_rate_limited_not_dropped() -> None:
    async def main() -> None:
        peer_data = RelayPeerDataConfig(
            bytes_per_second=10_000,
            burst_bytes=1_000,
        )
        server = RelayServer(NullAuthenticator(), peer_data=peer_data)
        slept: list[float] = []
        async with in_process_relay(server) as (_, address):
            a_ws, a, _ = await register(address)
            b_ws, b, _ = await register(address)
            frame = encode_relay_message(PeerDataMessage(a, b, 'x' * 400))
            client = server.client_manager.get_client_by_uuid(a)
            assert client is not None
            await server._throttle(client, 0)
            bucket = server._buckets[a]

            async def record(seconds: float) -> None:
                slept.append(seconds)

            bucket._sleep = record
            bucket._clock = lambda: 0.0
            bucket._updated = 0.0
            for _ in range(5):
                await a_ws.send(frame)
                await b_ws.recv()
            assert server.stats()[a].peer_data_messages == 5
            await a_ws.close()
            await b_ws.close()
        # 5 frames of ~530 B against a 1000 B burst: the last three wait
        # for 1, 2 and 3 frames' worth of tokens.
        per_frame = len(frame) / 10_000
        assert len(slept) == 4
        assert slept[0] == pytest.approx(2 * per_frame - 0.1)

    run(main())


def test_unauthorized_and_forbidden_registrations() -> None:
    async def main() -> None:
        server = RelayServer(HeaderAuthenticator())
        async with in_process_relay(server) as (_, address):
            ws, _, _ = await register_raw(address, None)
            assert ws.close_code == 4001
            assert ws.close_reason == (
                'UnauthorizedError: missing authorization header'
            )
            ws, _, _ = await register_raw(address, bearer('banned'))
            assert ws.close_code == 4002
            assert ws.close_reason == 'ForbiddenError: token is banned'
            assert server.client_manager.get_clients() == []

    run(main())


async def register_raw(address: str, headers: dict[str, str] | None):
    ws = await connect(address, headers)
    await ws.send(
        encode_relay_message(RelayRegistrationRequest('x', uuid.uuid4())),
    )
    await closed_with(ws)
    return ws, None, None


def test_same_user_replaces_old_socket_with_4004() -> None:
    async def main() -> None:
        server = RelayServer(HeaderAuthenticator())
        async with in_process_relay(server) as (_, address):
            old, a, _ = await register(address, headers=bearer('alice'))
            new, _, reply = await register(address, a, bearer('alice'))
            assert decode_relay_message(reply) == RelayResponse(
                message='features=peer_data',
            )
            assert await closed_with(old) == (4004, REPLACED_REASON)
            client = server.client_manager.get_client_by_uuid(a)
            assert client is not None
            assert client.user == 'alice'
            await new.close()

    run(main())


def test_another_user_cannot_take_a_live_uuid() -> None:
    async def main() -> None:
        server = RelayServer(HeaderAuthenticator())
        async with in_process_relay(server) as (_, address):
            owner, a, _ = await register(address, headers=bearer('alice'))
            thief = await connect(address, bearer('mallory'))
            await thief.send(
                encode_relay_message(RelayRegistrationRequest('t', a)),
            )
            code, reason = await closed_with(thief)
            assert code == 4002
            assert 'already registered to another user' in reason
            # The owner is untouched and still reachable.
            client = server.client_manager.get_client_by_uuid(a)
            assert client is not None
            assert client.user == 'alice'
            peer, p, _ = await register(address, headers=bearer('alice'))
            offer = PeerConnectionRequest(p, 'p', a, 'offer', 'sdp')
            await peer.send(encode_relay_message(offer))
            assert decode_relay_message(await owner.recv()) == offer
            await owner.close()
            await peer.close()

    run(main())


def test_same_socket_may_register_again() -> None:
    async def main() -> None:
        async with in_process_relay() as (server, address):
            ws, a, _ = await register(address, name='first')
            await ws.send(
                encode_relay_message(RelayRegistrationRequest('second', a)),
            )
            assert decode_relay_message(await ws.recv()) == RelayResponse(
                message='features=peer_data',
            )
            client = server.client_manager.get_client_by_uuid(a)
            assert client is not None
            assert client.name == 'second'
            await ws.send(
                encode_relay_message(
                    RelayRegistrationRequest('other', uuid.uuid4()),
                ),
            )
            response = decode_relay_message(await ws.recv())
            assert isinstance(response, RelayResponse)
            assert not response.success
            assert response.error
            assert response.message is not None
            assert response.message.startswith('BadRequestError: ')
            assert len(server.client_manager.get_clients()) == 1
            await ws.close()

    run(main())


def test_malformed_secret_header_is_a_bad_request() -> None:
    async def main() -> None:
        async with in_process_relay() as (server, address):
            _, _, reply = await register(
                address,
                headers=secret_headers('x' * 2000),
            )
            response = decode_relay_message(reply)
            assert isinstance(response, RelayResponse)
            assert not response.success
            assert 'X-ProxyStore-Endpoint-Secret' in str(response.message)
            assert server.client_manager.get_clients() == []

    run(main())
