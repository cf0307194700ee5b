"""Each relay security finding of the old registry relay, as a test.

Findings (old `proxystore.endpoint.relay`, on loopback): any client could
register a live endpoint's UUID, so peers sent that endpoint's traffic
(and bearer token) to the impostor and deserialized its replies; the real
endpoint stayed unregistered afterwards; the endpoint list was public;
the relay bound 0.0.0.0. Each test below fails on that relay.
"""

from __future__ import annotations

import asyncio
import http.client
import ipaddress
import re
import uuid

import psutil
import pytest

from proxystore.p2p.relay.client import RelayClient
from proxystore.p2p.relay.exceptions import RelayRegistrationError
from proxystore.p2p.relay.messages import PeerConnectionRequest
from proxystore.p2p.relay.messages import PeerDataMessage
from proxystore.p2p.relay.secret import new_endpoint_secret
from proxystore.p2p.relay.secret import secret_headers
from tests.p2p.relay.support import PORT_LINE
from tests.p2p.relay.support import relay_process
from tests.p2p.relay.support import run
from tests.p2p.relay.support import running_relay

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope='module')
def relay() -> str:
    with running_relay() as address:
        yield address


def client(address: str, **kwargs: object) -> RelayClient:
    kwargs.setdefault('reconnect_task', False)
    return RelayClient(address, timeout=5, **kwargs)  # type: ignore[arg-type]


async def refused(address: str, **kwargs: object) -> str:
    impostor = client(address, **kwargs)
    with pytest.raises(RelayRegistrationError) as info:
        await impostor.connect(retry=False)
    assert 'code 4002' in str(info.value)
    # Refusals are final: the client does not try again.
    with pytest.raises(RelayRegistrationError):
        await impostor.connect()
    return str(info.value)


def test_impostor_cannot_register_a_live_uuid(relay: str) -> None:
    async def main() -> None:
        secret = new_endpoint_secret()
        async with (
            client(
                relay,
                extra_headers=secret_headers(secret),
            ) as endpoint,
            client(relay) as upstream_endpoint,
        ):
            # Without the secret, with a wrong one, and against an
            # endpoint that registered without any secret (upstream).
            await refused(relay, client_uuid=endpoint.uuid)
            await refused(
                relay,
                client_uuid=endpoint.uuid,
                extra_headers=secret_headers('guess'),
            )
            reason = await refused(relay, client_uuid=upstream_endpoint.uuid)
            assert 'endpoint secret' in reason

    run(main())


def test_peers_reach_the_real_endpoint_not_the_impostor(relay: str) -> None:
    async def main() -> None:
        secret = new_endpoint_secret()
        async with (
            client(
                relay,
                client_name='real',
                extra_headers=secret_headers(secret),
            ) as endpoint,
            client(relay, client_name='peer') as peer,
        ):
            await refused(relay, client_uuid=endpoint.uuid)
            offer = PeerConnectionRequest(
                peer.uuid,
                'peer',
                endpoint.uuid,
                'offer',
                'sdp',
            )
            await peer.send(offer)
            assert await endpoint.recv() == offer
            data = PeerDataMessage(peer.uuid, endpoint.uuid, 'dG9rZW4=')
            await peer.send(data)
            assert await endpoint.recv() == data

    run(main())


def test_real_endpoint_stays_registered_and_can_reconnect(relay: str):
    async def main() -> None:
        secret = new_endpoint_secret()
        endpoint_uuid = uuid.uuid4()
        endpoint = client(
            relay,
            client_uuid=endpoint_uuid,
            extra_headers=secret_headers(secret),
        )
        await endpoint.connect()
        await refused(relay, client_uuid=endpoint_uuid)
        # Still registered: a peer can reach it.
        async with client(relay) as peer:
            data = PeerDataMessage(peer.uuid, endpoint_uuid, 'aGk=')
            await peer.send(data)
            assert await endpoint.recv() == data
        await endpoint.close()
        # Offline, the UUID stays reserved for the secret's holder.
        await refused(relay, client_uuid=endpoint_uuid)
        again = client(
            relay,
            client_uuid=endpoint_uuid,
            extra_headers=secret_headers(secret),
        )
        await again.connect()
        assert 'peer_data' in again.features
        await again.close()

    run(main())


def test_the_endpoint_list_is_not_served(relay: str) -> None:
    async def main() -> uuid.UUID:
        async with client(relay) as endpoint:
            statuses = []
            host, port = relay.removeprefix('ws://').split(':')
            for path in ('/', '/endpoints', f'/endpoints/{endpoint.uuid}'):
                conn = http.client.HTTPConnection(host, int(port), timeout=5)
                await asyncio.to_thread(conn.request, 'GET', path)
                response = await asyncio.to_thread(conn.getresponse)
                body = response.read().decode(errors='replace')
                conn.close()
                statuses.append(response.status)
                assert str(endpoint.uuid) not in body
            assert all(status >= 400 for status in statuses)
            return endpoint.uuid

    run(main())


def test_relay_binds_loopback_by_default() -> None:
    with relay_process('--port', '0') as relay:
        port = int(relay.wait_for_line(PORT_LINE).group(1))
        relay.wait_for_line(re.compile('serving ws://localhost'))
        listening = [
            c
            for c in psutil.Process(relay.process.pid).net_connections('tcp')
            if c.status == psutil.CONN_LISTEN
        ]
        assert listening
        for conn in listening:
            assert ipaddress.ip_address(conn.laddr.ip).is_loopback
        assert {c.laddr.port for c in listening} >= {port}


def test_public_bind_without_auth_is_refused() -> None:
    with relay_process('--host', '0.0.0.0', '--port', '0') as relay:
        assert relay.process.wait(timeout=30) == 1
        output = relay.output()
    assert 'Refusing to serve the relay on' in output
    assert '--allow-public-without-auth' in output
    assert 'listening' not in output
