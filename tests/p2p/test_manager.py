"""PeerManager over a real relay on loopback: WebRTC, relayed, errors."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import uuid
from typing import Any

import pytest
from aiortc import RTCIceCandidate
from aiortc.contrib.signaling import object_to_string
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from proxystore.p2p.chunks import Chunk
from proxystore.p2p.connection import RELAY_KEY_ATTRIBUTE
from proxystore.p2p.connection import FrameCipher
from proxystore.p2p.connection import PeerConnection
from proxystore.p2p.connection import RelayedConnection
from proxystore.p2p.connection import log_name
from proxystore.p2p.connection import only_relay_candidates
from proxystore.p2p.connection import relay_key
from proxystore.p2p.exceptions import PeerConnectionError
from proxystore.p2p.manager import DEFAULT_ICE_TIMEOUT
from proxystore.p2p.manager import ICE_TIMEOUT_ENV
from proxystore.p2p.manager import ICE_TRANSPORT_POLICY_ENV
from proxystore.p2p.manager import PeerManager
from proxystore.p2p.relay.messages import PeerConnectionRequest
from proxystore.p2p.relay.messages import PeerDataMessage
from proxystore.p2p.relay.messages import decode_relay_message
from tests.p2p.helpers import peer_managers
from tests.p2p.helpers import relay_client
from tests.p2p.helpers import relay_server
from tests.p2p.helpers import relayed_peers

pytestmark = pytest.mark.timeout(60)


def test_webrtc_direct_both_ways(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger='proxystore.p2p')

    async def main() -> None:
        async with (
            relay_server() as (address, relay),
            peer_managers(
                address,
                peer_channels=2,
            ) as (a, b),
        ):
            big = bytes(range(256)) * 4096 + b'tail'  # 1 MiB, 33 chunks
            await a.send(b.uuid, big)
            assert await b.recv() == (a.uuid, big)
            await b.send(a.uuid, 'text message')
            assert await a.recv() == (b.uuid, 'text message')
            [info] = a.peers()
            assert (info.uuid, info.name, info.path) == (
                b.uuid,
                'peer1',
                'webrtc-direct',
            )
            assert (info.state, info.bytes_sent) == ('connected', len(big))
            assert info.bytes_received == len('text message')
            assert b.peers()[0].path == 'webrtc-direct'
            assert json.loads(json.dumps(info.as_json())) == {
                'uuid': str(b.uuid),
                'name': 'peer1',
                'path': 'webrtc-direct',
                'state': 'connected',
                'bytes_sent': len(big),
                'bytes_received': len('text message'),
            }
            # WebRTC data does not go through the relay.
            assert all(s.peer_data_bytes == 0 for s in relay.stats().values())

    asyncio.run(main())
    established = [
        r.getMessage()
        for r in caplog.records
        if 'Established peer connection' in r.getMessage()
    ]
    assert len(established) == 2
    assert all('(path: webrtc-direct)' in m for m in established)


def test_relayed_when_ice_fails(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger='proxystore.p2p')

    async def main() -> None:
        # 'relay' transport policy with no TURN server: ICE has no
        # candidates and fails, so the data goes through the relay.
        async with relayed_peers() as (relay, a, b):
            assert a.relay_supports_peer_data
            # Watch what the relay forwards (the data must be unreadable).
            forwarded: list[bytes] = []
            send_frame = relay._send_frame

            async def watch(client: Any, frame: str) -> int:
                message = decode_relay_message(frame)
                if isinstance(message, PeerDataMessage):
                    forwarded.append(base64.b64decode(message.data))
                return await send_frame(client, frame)

            relay._send_frame = watch  # type: ignore[method-assign]
            data = b'secret-object-bytes' * 10_000
            await a.send(b.uuid, data)
            assert await b.recv() == (a.uuid, data)
            await b.send(a.uuid, b'reply')
            assert await a.recv() == (b.uuid, b'reply')
            assert len(forwarded) >= 2
            assert not any(b'secret-object' in f for f in forwarded)
            assert not any(b'reply' in f for f in forwarded)
            assert [p.path for p in a.peers()] == ['relayed']
            assert [p.path for p in b.peers()] == ['relayed']
            stats = relay.stats()
            assert stats[a.uuid].peer_data_bytes > len(data)
            assert stats[b.uuid].peer_data_messages >= 1

    asyncio.run(main())
    assert any('(path: relayed)' in r.getMessage() for r in caplog.records)


def test_only_relay_candidates_keeps_the_rest_of_the_description() -> None:
    sdp = (
        'v=0\r\n'
        'o=- 3913 3913 IN IP4 0.0.0.0\r\n'
        's=-\r\n'
        't=0 0\r\n'
        'm=application 40671 DTLS/SCTP 5000\r\n'
        'c=IN IP4 192.0.2.10\r\n'
        'a=candidate:1 1 UDP 2130706431 192.0.2.10 40671 typ host\r\n'
        'a=candidate:2 1 UDP 1694498815 198.51.100.7 40671 typ srflx '
        'raddr 192.0.2.10 rport 40671\r\n'
        'a=candidate:3 1 UDP 16777215 203.0.113.5 50001 typ relay '
        'raddr 198.51.100.7 rport 40671\r\n'
        'a=end-of-candidates\r\n'
        'a=ice-ufrag:abcd\r\n'
    )
    filtered = only_relay_candidates(sdp)
    assert filtered.count('a=candidate:') == 1
    assert 'typ relay' in filtered
    assert 'typ host' not in filtered
    assert 'typ srflx' not in filtered
    # Everything that is not a candidate line is unchanged.
    assert [
        line for line in sdp.split('\r\n') if not line.startswith('a=cand')
    ] == [
        line
        for line in filtered.split('\r\n')
        if not line.startswith('a=cand')
    ]
    assert only_relay_candidates(filtered) == filtered


@pytest.fixture
def without_native_transport_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Act as aiortc < 1.16, which has no `RTCIceTransportPolicy`."""
    monkeypatch.setattr(
        'proxystore.p2p.connection.native_transport_policy',
        None,
    )


@pytest.mark.usefixtures('without_native_transport_policy')
def test_relay_policy_on_aiortc_without_transport_policies() -> None:
    # aiortc < 1.16 (the last release for Python 3.10 is 1.15) has no
    # RTCIceTransportPolicy: 'relay' is applied to the descriptions, so
    # without a TURN server the data still takes the relayed path.
    async def main() -> None:
        async with relayed_peers() as (_, a, b):
            await a.send(b.uuid, b'data')
            assert await b.recv() == (a.uuid, b'data')
            assert [p.path for p in a.peers()] == ['relayed']
            assert [p.path for p in b.peers()] == ['relayed']

    asyncio.run(main())


@pytest.mark.usefixtures('without_native_transport_policy')
def test_relay_policy_emulation_drops_trickled_candidates() -> None:
    # A peer may send candidates one by one instead of in its description:
    # without a native policy, only relay candidates reach aiortc.
    async def main() -> list[str]:
        connection = PeerConnection(None, ice_transport_policy='relay')
        added: list[str] = []

        async def record(candidate: RTCIceCandidate) -> None:
            added.append(candidate.type)

        connection._pc.addIceCandidate = record  # type: ignore[method-assign]
        try:
            for kind in ('host', 'srflx', 'relay'):
                candidate = RTCIceCandidate(
                    component=1,
                    foundation=kind,
                    ip='192.0.2.1',
                    port=4000,
                    priority=1,
                    protocol='udp',
                    type=kind,
                    sdpMid='0',
                )
                await connection.handle_server_message(
                    PeerConnectionRequest(
                        uuid.uuid4(),
                        'peer',
                        uuid.uuid4(),
                        'offer',
                        object_to_string(candidate),
                    ),
                )
        finally:
            await connection.close()
        return added

    assert asyncio.run(main()) == ['relay']


def test_no_fallback_without_relay_support() -> None:
    async def main() -> None:
        async with relayed_peers(peer_data=False) as (_, a, b):
            assert not a.relay_supports_peer_data
            with pytest.raises(PeerConnectionError, match='Failed to connect'):
                await a.send(b.uuid, b'data', timeout=10)
            assert a.peers() == []
            # Nothing was delivered.
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(b.recv(), 0.5)

    asyncio.run(main())


def test_unknown_peer_is_a_clear_error() -> None:
    async def main() -> None:
        async with (
            relay_server() as (address, _),
            peer_managers(
                address,
                count=1,
            ) as (a,),
        ):
            missing = uuid.uuid4()
            with pytest.raises(PeerConnectionError, match='not registered'):
                await a.send(missing, b'data', timeout=10)
            assert a.peers() == []

    asyncio.run(main())


def test_simultaneous_offers_make_one_connection() -> None:
    async def main() -> None:
        async with (
            relay_server() as (address, _),
            peer_managers(address) as (
                a,
                b,
            ),
        ):
            await asyncio.gather(
                a.send(b.uuid, b'from a'),
                b.send(a.uuid, b'from b'),
            )
            assert await b.recv() == (a.uuid, b'from a')
            assert await a.recv() == (b.uuid, b'from b')
            assert len(a.peers()) == len(b.peers()) == 1
            assert a.peers()[0].state == 'connected'

    asyncio.run(main())


def test_bad_relayed_data_is_dropped_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def main() -> None:
        async with relayed_peers() as (_, a, b):
            await a.send(b.uuid, b'first')
            assert await b.recv() == (a.uuid, b'first')
            # Frames from a's relay client that are not chunks.
            sender = a.relay_client
            for data in ('not base64!', 'AAAA'):
                await sender.send(
                    PeerDataMessage(a.uuid, b.uuid, data=data),
                )
            await a.send(b.uuid, b'second')
            assert await b.recv() == (a.uuid, b'second')

    asyncio.run(main())
    messages = [r.getMessage() for r in caplog.records]
    assert any('not base64' in m for m in messages)
    assert any('failed authentication' in m for m in messages)


def test_relay_client_is_required_before_init() -> None:
    async def main() -> None:
        manager = PeerManager(relay_client('ws://127.0.0.1:1', 'x'))
        with pytest.raises(RuntimeError, match='async_init'):
            _ = manager.relay_client
        with pytest.raises(RuntimeError, match='async_init'):
            await manager.send(uuid.uuid4(), b'x')

    asyncio.run(main())


def test_log_name_and_relayed_connection_api() -> None:
    peer = uuid.UUID(int=0x1234567890ABCDEF)
    assert log_name(peer, 'ep') == f'ep({str(peer)[:8]})'

    async def main() -> None:
        client = relay_client('ws://127.0.0.1:1', 'x')
        connection = RelayedConnection(client, peer, peer_name='ep')
        assert (connection.state, connection.path) == ('connected', 'relayed')
        closed: list[int] = []
        connection.on_close_callback(closed.append, 1)
        await connection.close()
        await connection.close()
        assert closed == [1]
        assert connection.state == 'closed'
        with pytest.raises(PeerConnectionError, match='closed'):
            await connection.send(b'x')

    asyncio.run(main())


def test_transport_policy_from_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = relay_client('ws://127.0.0.1:1', 'x')
    monkeypatch.setenv(ICE_TRANSPORT_POLICY_ENV, 'relay')
    assert PeerManager(client)._ice_transport_policy == 'relay'
    assert (
        PeerManager(client, ice_transport_policy='all')._ice_transport_policy
        == 'all'
    )
    monkeypatch.setenv(ICE_TRANSPORT_POLICY_ENV, 'turn-only')
    with pytest.raises(ValueError, match='"all" or "relay"'):
        PeerManager(client)
    monkeypatch.delenv(ICE_TRANSPORT_POLICY_ENV)
    assert PeerManager(client)._ice_timeout == DEFAULT_ICE_TIMEOUT
    assert PeerManager(client, timeout=3)._ice_timeout == 3
    monkeypatch.setenv(ICE_TIMEOUT_ENV, '2.5')
    assert PeerManager(client)._ice_timeout == 2.5
    for bad in ('-1', 'soon'):
        monkeypatch.setenv(ICE_TIMEOUT_ENV, bad)
        with pytest.raises(ValueError, match='positive number'):
            PeerManager(client)


def test_oversized_messages_are_refused(
    caplog: pytest.LogCaptureFixture,
) -> None:
    peer = uuid.uuid4()

    async def main() -> None:
        client = relay_client('ws://127.0.0.1:1', 'x')
        connection = RelayedConnection(client, peer, max_message_size=100)

        def message(chunk: Chunk) -> PeerDataMessage:
            data = base64.b64encode(bytes(chunk)).decode()
            return PeerDataMessage(peer, client.uuid, data=data)

        # Chunk 0 of a message announced as 1000 chunks of 64 bytes.
        await connection.handle_data_message(
            message(Chunk(0, 0, 1000, b'x' * 64)),
        )
        await connection.handle_data_message(message(Chunk(1, 0, 1, b'ok')))
        assert await asyncio.wait_for(connection.recv(), 1) == b'ok'
        assert connection.bytes_received == 2

    asyncio.run(main())
    assert 'exceeds the 100-byte message limit' in caplog.text


def test_frame_cipher_and_relay_key() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    key_a, key_b = X25519PrivateKey.generate(), X25519PrivateKey.generate()
    public_a = key_a.public_key().public_bytes_raw()
    public_b = key_b.public_key().public_bytes_raw()
    at_a = FrameCipher(key_a, public_b, a, b)
    at_b = FrameCipher(key_b, public_a, b, a)
    sealed = at_a.seal(b'frame')
    assert b'frame' not in sealed
    assert at_b.open(sealed) == b'frame'
    for bad in (
        sealed[:-1] + bytes([sealed[-1] ^ 1]),  # tampered
        b'short',
    ):
        with pytest.raises(PeerConnectionError, match='authentication'):
            at_b.open(bad)
    with pytest.raises(PeerConnectionError, match='authentication'):
        at_a.open(sealed)  # a frame cannot be reflected to its sender
    other = FrameCipher(X25519PrivateKey.generate(), public_a, b, a)
    with pytest.raises(PeerConnectionError, match='authentication'):
        other.open(sealed)
    sdp = (
        'v=0\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n'
    )
    line = f'a={RELAY_KEY_ATTRIBUTE}:{base64.b64encode(public_a).decode()}'
    with_key = sdp.replace('m=', line + '\r\nm=')
    assert relay_key(json.dumps({'sdp': with_key})) == public_a
    assert relay_key(json.dumps({'sdp': sdp})) is None
    short = f'a={RELAY_KEY_ATTRIBUTE}:{base64.b64encode(b"x" * 31).decode()}'
    assert relay_key(json.dumps({'sdp': sdp + short + '\r\n'})) is None
