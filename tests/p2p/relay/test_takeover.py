"""Who may register a UUID that is or was registered (in-process relay)."""

from __future__ import annotations

import json
import urllib.parse
import uuid

import pytest

from proxystore.p2p.relay.authenticate import GlobusAuthenticator
from proxystore.p2p.relay.authenticate import GlobusUser
from proxystore.p2p.relay.authenticate import NullAuthenticator
from proxystore.p2p.relay.client import RelayClient
from proxystore.p2p.relay.exceptions import RelayRegistrationError
from proxystore.p2p.relay.messages import PeerDataMessage
from proxystore.p2p.relay.secret import ENDPOINT_SECRET_HEADER
from proxystore.p2p.relay.secret import new_endpoint_secret
from proxystore.p2p.relay.secret import proves_uuid
from proxystore.p2p.relay.secret import secret_digest
from proxystore.p2p.relay.secret import secret_headers
from proxystore.p2p.relay.secret import uuid_for_secret
from proxystore.p2p.relay.server import RelayServer
from tests.p2p.relay.support import HeaderAuthenticator
from tests.p2p.relay.support import bearer
from tests.p2p.relay.support import in_process_relay
from tests.p2p.relay.support import run
from tests.p2p.relay.support import until

pytestmark = pytest.mark.timeout(60)


def client(address: str, **kwargs: object) -> RelayClient:
    kwargs.setdefault('reconnect_task', False)
    return RelayClient(address, timeout=5, **kwargs)  # type: ignore[arg-type]


async def code_of_refusal(address: str, **kwargs: object) -> str:
    with pytest.raises(RelayRegistrationError) as info:
        await client(address, **kwargs).connect(retry=False)
    return str(info.value)


def test_secret_helpers() -> None:
    secret = new_endpoint_secret()
    assert len(secret) >= 43
    assert secret != new_endpoint_secret()
    headers = secret_headers(secret)
    assert headers == {'X-ProxyStore-Endpoint-Secret': secret}
    assert ENDPOINT_SECRET_HEADER == 'X-ProxyStore-Endpoint-Secret'
    assert secret_digest({}) is None
    assert secret_digest(headers) == secret_digest(headers)
    with pytest.raises(ValueError, match='1 to 1024'):
        secret_digest(secret_headers(''))


def test_upstream_uuid_is_free_again_once_offline() -> None:
    async def main() -> None:
        async with in_process_relay() as (_, address):
            first = client(address)
            await first.connect()
            refusal = await code_of_refusal(address, client_uuid=first.uuid)
            assert '4002' in refusal
            await first.close()
            again = client(address, client_uuid=first.uuid)
            await again.connect()
            await again.close()

    run(main())


def test_same_secret_replaces_the_old_socket_with_4004() -> None:
    async def main() -> None:
        async with in_process_relay() as (server, address):
            headers = secret_headers(new_endpoint_secret())
            old = RelayClient(address, extra_headers=headers)
            await old.connect()
            new = client(address, client_uuid=old.uuid, extra_headers=headers)
            await new.connect()
            await until(lambda: old._refused is not None)
            assert old._websocket is not None
            assert old._websocket.close_code == 4004
            registered = server.client_manager.get_client_by_uuid(old.uuid)
            assert registered is not None
            assert registered.websocket.remote_address == (
                new.websocket.local_address
            )
            # The replaced client does not fight back.
            with pytest.raises(RelayRegistrationError, match='4004'):
                await old.connect()
            await new.close()

    run(main())


def test_unresponsive_registration_is_dropped() -> None:
    async def main() -> None:
        server = RelayServer(NullAuthenticator(), liveness_timeout=0.3)
        async with in_process_relay(server) as (_, address):
            dead = client(address)
            await dead.connect()
            # Stop reading: the relay's ping goes unanswered.
            dead.websocket.transport.pause_reading()
            new = client(address, client_uuid=dead.uuid)
            await new.connect()
            registered = server.client_manager.get_client_by_uuid(dead.uuid)
            assert registered is not None
            assert registered.websocket.remote_address == (
                new.websocket.local_address
            )
            await new.close()
            dead.websocket.transport.abort()

    run(main())


def test_with_auth_pins_bind_user_and_secret() -> None:
    async def main() -> None:
        server = RelayServer(HeaderAuthenticator())
        async with in_process_relay(server) as (_, address):
            secret = new_endpoint_secret()
            alice = {**bearer('alice'), **secret_headers(secret)}
            owner = client(address, extra_headers=alice)
            await owner.connect()
            uuid_ = owner.uuid
            # Same user without the secret, another user with it.
            for headers in (
                bearer('alice'),
                {**bearer('mallory'), **secret_headers(secret)},
            ):
                refusal = await code_of_refusal(
                    address,
                    client_uuid=uuid_,
                    extra_headers=headers,
                )
                assert '4002' in refusal
            await owner.close()
            # Offline, the pin still holds.
            refusal = await code_of_refusal(
                address,
                client_uuid=uuid_,
                extra_headers={**bearer('mallory'), **secret_headers(secret)},
            )
            assert 'another user' in refusal
            back = client(address, client_uuid=uuid_, extra_headers=alice)
            await back.connect()
            await back.close()
            # Without a secret, the same user replaces (upstream rule).
            plain = client(address, extra_headers=bearer('bob'))
            await plain.connect()
            twin = client(
                address,
                client_uuid=plain.uuid,
                extra_headers=bearer('bob'),
            )
            await twin.connect()
            await twin.close()

    run(main())


def test_pins_of_offline_uuids_are_bounded() -> None:
    async def main() -> None:
        server = RelayServer(NullAuthenticator(), max_pins=2)
        async with in_process_relay(server) as (_, address):
            uuids = []
            for _ in range(3):
                c = client(address, extra_headers=secret_headers('s'))
                await c.connect()
                uuids.append(c.uuid)
                await c.close()
                await until(lambda: not server.client_manager.get_clients())
            assert server._pins.uuids() == uuids[1:]

    run(main())


def _introspect_callback(request):  # type: ignore[no-untyped-def]
    token = urllib.parse.parse_qs(request.body)['token'][0]
    if token == 'expired':
        return 200, {}, json.dumps({'active': False})
    sub = str(uuid.uuid5(uuid.NAMESPACE_DNS, token))
    body = {
        'active': True,
        'aud': ['relay-rs'],
        'sub': sub,
        'username': f'{token}@example.org',
    }
    return 200, {}, json.dumps(body)


def test_globus_identities_on_a_live_relay() -> None:
    globus_sdk = pytest.importorskip('globus_sdk')
    responses = pytest.importorskip('responses')

    async def main() -> None:
        auth = GlobusAuthenticator(
            audience='relay-rs',
            auth_client=globus_sdk.ConfidentialAppAuthClient(
                str(uuid.uuid4()),
                'secret',
            ),
        )
        server = RelayServer(auth)
        async with in_process_relay(server) as (_, address):
            alice = client(address, extra_headers=bearer('alice'))
            await alice.connect()
            peer = client(address, extra_headers=bearer('alice'))
            await peer.connect()
            registered = server.client_manager.get_client_by_uuid(alice.uuid)
            assert registered is not None
            assert isinstance(registered.user, GlobusUser)
            assert registered.user.username == 'alice@example.org'
            assert 'expired or has been revoked' in await code_of_refusal(
                address,
                extra_headers=bearer('expired'),
            )
            assert '4001' in await code_of_refusal(address)
            assert 'another user' in await code_of_refusal(
                address,
                client_uuid=alice.uuid,
                extra_headers=bearer('mallory'),
            )
            mallory = client(address, extra_headers=bearer('mallory'))
            await mallory.connect()
            await mallory.send(PeerDataMessage(mallory.uuid, alice.uuid, ''))
            returned = await mallory.recv()
            assert isinstance(returned, PeerDataMessage)
            assert 'different user' in str(returned.error)
            await peer.send(PeerDataMessage(peer.uuid, alice.uuid, 'aGk='))
            assert await alice.recv() == PeerDataMessage(
                peer.uuid,
                alice.uuid,
                'aGk=',
            )
            for c in (alice, peer, mallory):
                await c.close()

    with responses.RequestsMock() as mock:
        mock.add_callback(
            responses.POST,
            'https://auth.globus.org/v2/oauth2/token/introspect',
            callback=_introspect_callback,
        )
        run(main())


def test_uuid_for_secret() -> None:
    secret = new_endpoint_secret()
    derived = uuid_for_secret(secret)
    assert derived.version == 4
    assert derived == uuid_for_secret(secret)
    assert derived != uuid_for_secret(new_endpoint_secret())
    assert proves_uuid(secret_headers(secret), derived)
    assert not proves_uuid(secret_headers(secret), uuid.uuid4())
    assert not proves_uuid({}, derived)
    assert not proves_uuid(secret_headers('x' * 2000), derived)


def test_a_proving_secret_takes_its_uuid_back_from_a_squatter() -> None:
    async def main() -> None:
        async with in_process_relay() as (server, address):
            secret = new_endpoint_secret()
            endpoint_uuid = uuid_for_secret(secret)
            # A squatter learned the UUID before the endpoint started and
            # registered it first, with a secret of its own.
            squatter = client(
                address,
                client_uuid=endpoint_uuid,
                extra_headers=secret_headers('squatter'),
            )
            await squatter.connect()
            real = client(
                address,
                client_uuid=endpoint_uuid,
                extra_headers=secret_headers(secret),
            )
            squatter_socket = squatter.websocket
            await real.connect()
            await until(lambda: squatter_socket.close_code is not None)
            assert squatter_socket.close_code == 4004
            registered = server.client_manager.get_client_by_uuid(
                endpoint_uuid,
            )
            assert registered is not None
            assert registered.websocket.remote_address == (
                real.websocket.local_address
            )
            # The squatter cannot come back, with or without its secret.
            for headers in (secret_headers('squatter'), {}):
                refusal = await code_of_refusal(
                    address,
                    client_uuid=endpoint_uuid,
                    extra_headers=headers,
                )
                assert '4002' in refusal
            await real.close()

    run(main())


def test_a_proving_secret_does_not_cross_users() -> None:
    async def main() -> None:
        server = RelayServer(HeaderAuthenticator())
        async with in_process_relay(server) as (_, address):
            secret = new_endpoint_secret()
            endpoint_uuid = uuid_for_secret(secret)
            owner = client(
                address,
                client_uuid=endpoint_uuid,
                extra_headers=bearer('alice'),
            )
            await owner.connect()
            refusal = await code_of_refusal(
                address,
                client_uuid=endpoint_uuid,
                extra_headers={**bearer('bob'), **secret_headers(secret)},
            )
            assert 'another user' in refusal
            await owner.close()

    run(main())


def test_unresponsive_endpoint_with_a_secret_is_not_taken_over() -> None:
    async def main() -> None:
        server = RelayServer(NullAuthenticator(), liveness_timeout=0.3)
        async with in_process_relay(server) as (_, address):
            secret = new_endpoint_secret()
            endpoint = client(address, extra_headers=secret_headers(secret))
            await endpoint.connect()
            endpoint.websocket.transport.pause_reading()
            refusal = await code_of_refusal(
                address,
                client_uuid=endpoint.uuid,
            )
            assert 'different secret' in refusal
            assert server.client_manager.get_clients() == []
            endpoint.websocket.transport.abort()
            back = client(
                address,
                client_uuid=endpoint.uuid,
                extra_headers=secret_headers(secret),
            )
            await back.connect()
            await back.close()

    run(main())
