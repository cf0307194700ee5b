"""The Endpoint object: SOLO mode, and PEERING over a real relay."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pathlib
import pickle
import uuid
from typing import Any

import pytest
from aiohttp import web

from proxystore.endpoint.endpoint import Endpoint
from proxystore.endpoint.endpoint import EndpointMode
from proxystore.endpoint.exceptions import InvalidKeyError
from proxystore.endpoint.exceptions import ObjectSizeExceededError
from proxystore.endpoint.exceptions import PeeringNotAvailableError
from proxystore.endpoint.exceptions import PeerRequestError
from proxystore.endpoint.messages import EndpointRequest
from proxystore.endpoint.messages import decode_request
from proxystore.endpoint.messages import encode_request
from proxystore.endpoint.peers import is_private_transport
from proxystore.endpoint.storage import DictStorage
from proxystore.endpoint.storage import SQLiteStorage
from proxystore.p2p.connection import add_endpoint_address
from proxystore.p2p.connection import endpoint_address
from proxystore.p2p.exceptions import PeerConnectionError
from proxystore.p2p.manager import PeerManager
from tests.fixtures.ports import free_port
from tests.p2p.helpers import relay_client
from tests.p2p.helpers import relay_server

pytestmark = pytest.mark.timeout(60)


async def _peering_endpoint(
    address: str,
    name: str,
    storage: DictStorage | None = None,
    **options: Any,
) -> Endpoint:
    """An initialized PEERING endpoint on the relay at `address`."""
    manager = PeerManager(
        relay_client(address, name), ice_servers=[], **options
    )
    return await Endpoint(peer_manager=manager, storage=storage)


def test_constructor_rules() -> None:
    with pytest.raises(ValueError, match='name and uuid'):
        Endpoint()
    with pytest.raises(ValueError, match='name and uuid'):
        Endpoint('only-name')
    endpoint = Endpoint('named', str(uuid.UUID(int=1)))
    assert endpoint.uuid == uuid.UUID(int=1)
    assert endpoint.name == 'named'
    assert endpoint.mode is EndpointMode.SOLO
    assert endpoint.peer_manager is None
    assert isinstance(endpoint.storage, DictStorage)
    assert 'SOLO' in repr(endpoint)


def test_solo_serves_every_endpoint_locally(tmp_path: pathlib.Path) -> None:
    async def main() -> None:
        storage = SQLiteStorage(tmp_path / 'db.sqlite')
        async with Endpoint('e', uuid.uuid4(), storage=storage) as endpoint:
            other = uuid.uuid4()
            await endpoint.set('a', b'1')
            await endpoint.set('b', b'2', endpoint=other)
            assert await endpoint.get('b') == b'2'
            assert await endpoint.get('a', endpoint=str(other)) == b'1'
            assert await endpoint.get('missing', endpoint=other) is None
            assert await endpoint.exists('a', endpoint=endpoint.uuid)
            await endpoint.evict('a', endpoint=other)
            assert not await endpoint.exists('a')
        await endpoint.close()  # idempotent

    asyncio.run(main())


def test_bad_input_is_refused_and_data_kept() -> None:
    async def main() -> None:
        endpoint = await Endpoint('e', uuid.uuid4())
        await endpoint.set('kept', b'yes')
        with pytest.raises(InvalidKeyError):
            await endpoint.set('../x', b'no')
        with pytest.raises(InvalidKeyError):
            await endpoint.get('kept', endpoint='not-a-uuid')
        assert await endpoint.get('kept') == b'yes'
        await endpoint.close()

    asyncio.run(main())


def test_peering_before_init_is_refused() -> None:
    async def main() -> None:
        manager = PeerManager(relay_client('ws://127.0.0.1:1', 'x'))
        endpoint = Endpoint(peer_manager=manager)
        assert endpoint.mode is EndpointMode.PEERING
        with pytest.raises(PeeringNotAvailableError, match='async_init'):
            _ = endpoint.peer_manager

    asyncio.run(main())


def test_peering_over_webrtc(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)

    async def main() -> None:
        async with relay_server() as (address, _):
            a = await _peering_endpoint(
                address, 'a', storage=DictStorage(max_object_size=1000)
            )
            b = await _peering_endpoint(address, 'b')
            assert (a.name, b.name) == ('a', 'b')
            assert a.uuid == a.peer_manager.uuid  # type: ignore[union-attr]
            await a.set('k', b'local')
            assert await b.get('k', endpoint=a.uuid) == b'local'
            assert await b.exists('k', endpoint=str(a.uuid))
            assert not await b.exists('k')
            await b.set('k2', b'remote', endpoint=a.uuid)
            assert await a.get('k2') == b'remote'
            await b.evict('k', endpoint=a.uuid)
            assert not await a.exists('k')
            assert await b.get('k', endpoint=a.uuid) is None
            # The peer's error is re-raised as itself, and nothing stored.
            with pytest.raises(ObjectSizeExceededError):
                await b.set('big', b'x' * 2000, endpoint=a.uuid)
            assert not await a.exists('big')
            # A malformed key is refused by the peer too.
            with pytest.raises(InvalidKeyError):
                await b.get('../etc', endpoint=a.uuid)
            path = [p.path for p in b.peer_manager.peers()]  # type: ignore[union-attr]
            assert path == ['webrtc-direct']
            await a.close()
            await b.close()

    asyncio.run(main())


def test_unknown_peer_and_refused_messages(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING)

    async def main() -> None:
        async with relay_server() as (address, _):
            a = await _peering_endpoint(address, 'a')
            b = await _peering_endpoint(address, 'b')
            missing = uuid.uuid4()
            with pytest.raises(
                PeerRequestError,
                match=f'Request to peer {missing} failed',
            ):
                await a.get('k', endpoint=missing)
            await a.set('k', b'kept')
            manager = b.peer_manager
            assert manager is not None
            # A pickle naming a class outside the allow-list: refused and
            # logged; the endpoint keeps serving.
            await manager.send(
                a.uuid,
                b'PK\n' + pickle.dumps(os.system),
            )
            # A response nobody asked for is dropped.
            await manager.send(
                a.uuid,
                encode_request(
                    EndpointRequest('response', 'get', 'unknown-id', 'k'),
                ),
            )
            assert await b.get('k', endpoint=a.uuid) == b'kept'
            await a.close()
            await b.close()

    asyncio.run(main())
    assert 'Refused to unpickle' in caplog.text
    assert '.system from a peer' in caplog.text
    assert 'unknown request unknown-id' in caplog.text


def test_close_fails_pending_requests() -> None:
    async def main() -> None:
        async with relay_server() as (address, _):
            a = await _peering_endpoint(address, 'a')
            # A peer that never answers: a bare manager.
            silent = await PeerManager(
                relay_client(address, 'silent'),
                ice_servers=[],
            )
            request = asyncio.ensure_future(a.get('k', endpoint=silent.uuid))
            _, message = await silent.recv()
            assert isinstance(message, bytes)
            assert message.startswith(b'PK\n')
            await a.close()
            with pytest.raises(PeerRequestError, match='closed'):
                await request
            await silent.close()

    asyncio.run(main())


def test_unusable_direct_address_falls_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger='proxystore.p2p.manager')

    async def impostor(request: web.Request) -> web.Response:
        return web.json_response({'uuid': str(uuid.uuid4())})

    async def main() -> None:
        app = web.Application()
        app.router.add_get('/endpoint', impostor)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, '127.0.0.1', 0)
        await site.start()
        impostor_port = runner.addresses[0][1]
        closed_port = free_port()
        async with relay_server() as (address, _):
            a = await _peering_endpoint(
                address, 'a', http_address=f'http://127.0.0.1:{closed_port}'
            )
            c = await _peering_endpoint(
                address, 'c', http_address=f'http://127.0.0.1:{impostor_port}'
            )
            b = await _peering_endpoint(address, 'b')
            await a.set('k', b'from a')
            await c.set('k', b'from c')
            assert await b.get('k', endpoint=a.uuid) == b'from a'
            assert await b.get('k', endpoint=c.uuid) == b'from c'
            manager = b.peer_manager
            assert manager is not None
            assert {p.path for p in manager.peers()} == {'webrtc-direct'}
            for endpoint in (a, b, c):
                await endpoint.close()
        await runner.cleanup()

    asyncio.run(main())
    unusable = [
        r.getMessage()
        for r in caplog.records
        if 'Direct HTTP path' in r.getMessage()
    ]
    assert len(unusable) == 2
    assert any('unreachable' in m for m in unusable)
    assert any('is not endpoint' in m for m in unusable)


def test_direct_http_addresses_only_from_the_description() -> None:
    sdp = (
        'v=0\r\nt=0 0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n'
    )
    with_address = add_endpoint_address(sdp, 'https://ep.example:8765')
    assert with_address.index('a=x-proxystore-endpoint') < with_address.index(
        'm=',
    )
    description = json.dumps({'sdp': with_address, 'type': 'offer'})
    assert endpoint_address(description) == 'https://ep.example:8765'
    for bad in (
        json.dumps({'sdp': sdp, 'type': 'offer'}),
        json.dumps({'sdp': sdp + 'a=x-proxystore-endpoint:ftp://x\r\n'}),
        json.dumps({'sdp': 1}),
        'not json',
    ):
        assert endpoint_address(bad) is None
    assert is_private_transport('http://127.0.0.1:1')
    assert is_private_transport('http://localhost:1')
    assert is_private_transport('https://ep.example')
    assert not is_private_transport('http://10.0.0.5:8765')
    assert not is_private_transport('http://ep.example')


def test_request_fails_when_the_peer_goes_away() -> None:
    async def main() -> None:
        async with relay_server() as (address, _):
            a = await _peering_endpoint(
                address, 'a', ice_transport_policy='relay'
            )
            silent = await PeerManager(
                relay_client(address, 'silent'),
                ice_servers=[],
            )
            request = asyncio.ensure_future(a.get('k', endpoint=silent.uuid))
            await silent.recv()
            # The peer leaves without answering: the relay bounces the
            # next relayed chunk, the connection closes, the request fails.
            await silent.close()
            await asyncio.sleep(0.2)
            manager = a.peer_manager
            assert manager is not None
            with contextlib.suppress(PeerConnectionError):
                await manager.send(silent.uuid, b'probe', timeout=5)
            with pytest.raises(PeerRequestError, match='closed before'):
                await asyncio.wait_for(request, 10)
            await a.close()

    asyncio.run(main())


def test_request_is_retried_once_after_a_lost_connection(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger='proxystore.endpoint.endpoint')

    async def main() -> None:
        async with relay_server() as (address, _):
            a = await _peering_endpoint(address, 'a')
            peer = await PeerManager(
                relay_client(address, 'flaky'),
                ice_servers=[],
            )
            request = asyncio.ensure_future(a.get('k', endpoint=peer.uuid))
            await peer.recv()
            # Drop the connection without answering the first attempt.
            await peer.close_connection([peer.uuid, a.uuid])
            source, message = await asyncio.wait_for(peer.recv(), 20)
            assert isinstance(message, bytes)
            retried = decode_request(message)
            retried.kind = 'response'
            retried.data = b'answered'
            await peer.send(source, encode_request(retried))
            assert await asyncio.wait_for(request, 20) == b'answered'
            await a.close()
            await peer.close()

    asyncio.run(main())
    assert 'retrying once' in caplog.text
