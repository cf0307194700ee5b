from __future__ import annotations

import importlib
import json
import uuid

import pytest

from proxystore.p2p.relay.authenticate import RELAY_RESOURCE_SERVER
from proxystore.p2p.relay.authenticate import Authenticator
from proxystore.p2p.relay.authenticate import GlobusAuthenticator
from proxystore.p2p.relay.authenticate import GlobusUser
from proxystore.p2p.relay.authenticate import NullAuthenticator
from proxystore.p2p.relay.authenticate import NullUser
from proxystore.p2p.relay.authenticate import get_authenticator
from proxystore.p2p.relay.authenticate import get_token_from_headers
from proxystore.p2p.relay.config import RelayAuthConfig
from proxystore.p2p.relay.exceptions import ForbiddenError
from proxystore.p2p.relay.exceptions import InternalServerError
from proxystore.p2p.relay.exceptions import UnauthorizedError

globus_sdk = pytest.importorskip('globus_sdk')
responses = pytest.importorskip('responses')
testing = pytest.importorskip('globus_sdk.testing')

INTROSPECT_URL = 'https://auth.globus.org/v2/oauth2/token/introspect'


def test_null_authentication() -> None:
    user = NullAuthenticator().authenticate_user({})
    assert user == NullUser()
    assert hash(user) == hash(NullUser())
    assert repr(user) == 'NullUser()'
    assert user != 'NullUser()'
    assert isinstance(NullAuthenticator(), Authenticator)


def test_globus_users_are_equal_by_identity() -> None:
    sub = uuid.uuid4()
    a = GlobusUser('a@example.org', sub, 'a@example.org', 'A')
    b = GlobusUser('renamed@example.org', sub)
    assert a == b
    assert hash(a) == hash(b)
    assert a != GlobusUser('a@example.org', uuid.uuid4())
    assert a != 'a@example.org'


@pytest.mark.parametrize(
    ('headers', 'error'),
    [
        ({}, 'missing authorization header'),
        ({'Authorization': 'token'}, 'malformed'),
        ({'Authorization': 'Basic abc'}, 'malformed'),
        ({'Authorization': 'Bearer a b'}, 'malformed'),
        ({'Authorization': 'Bearer '}, 'malformed'),
    ],
)
def test_bad_authorization_headers(headers: dict[str, str], error: str):
    with pytest.raises(UnauthorizedError, match=error):
        get_token_from_headers(headers)


def test_token_from_headers() -> None:
    assert get_token_from_headers({'Authorization': 'Bearer abc'}) == 'abc'


def _authenticator(audience: str) -> GlobusAuthenticator:
    client = globus_sdk.ConfidentialAppAuthClient(
        str(uuid.uuid4()),
        'secret',
    )
    return GlobusAuthenticator(audience=audience, auth_client=client)


def test_globus_token_introspection() -> None:
    with responses.RequestsMock() as mock:
        meta = testing.load_response(
            globus_sdk.ConfidentialAppAuthClient.oauth2_token_introspect,
            requests_mock=mock,
        ).metadata
        auth = _authenticator(meta['client_id'])
        assert isinstance(auth, Authenticator)
        user = auth.authenticate_user({'Authorization': 'Bearer tok'})
        request = mock.calls[0].request
    assert user == GlobusUser(meta['username'], uuid.UUID(meta['id']))
    assert user.username == meta['username']
    assert user.email == meta['email']
    assert user.display_name == meta['name']
    assert 'token=tok' in request.body


def test_globus_wrong_audience_is_forbidden() -> None:
    with responses.RequestsMock() as mock:
        testing.load_response(
            globus_sdk.ConfidentialAppAuthClient.oauth2_token_introspect,
            requests_mock=mock,
        )
        auth = _authenticator(RELAY_RESOURCE_SERVER)
        with pytest.raises(ForbiddenError, match='confused deputy'):
            auth.authenticate_user({'Authorization': 'Bearer tok'})


@pytest.mark.parametrize(
    ('body', 'error'),
    [
        ({'active': False}, 'expired or has been revoked'),
        (
            {'active': True, 'aud': ['rs'], 'sub': 'x', 'username': 'u'},
            'no valid identity',
        ),
        ({'active': True, 'aud': ['rs']}, 'no valid identity'),
    ],
)
def test_globus_rejected_tokens(body: dict[str, object], error: str) -> None:
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, INTROSPECT_URL, json=body)
        with pytest.raises(ForbiddenError, match=error):
            _authenticator('rs').authenticate_user(
                {'Authorization': 'Bearer tok'},
            )


def test_globus_outage_is_an_internal_error() -> None:
    with responses.RequestsMock() as mock:
        mock.add(
            responses.POST,
            INTROSPECT_URL,
            status=401,
            body=json.dumps({'error': 'invalid_client'}),
            content_type='application/json',
        )
        with pytest.raises(InternalServerError, match='introspect'):
            _authenticator('rs').authenticate_user(
                {'Authorization': 'Bearer tok'},
            )


def test_globus_authenticator_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv('PROXYSTORE_GLOBUS_CLIENT_ID', raising=False)
    monkeypatch.delenv('PROXYSTORE_GLOBUS_CLIENT_SECRET', raising=False)
    with pytest.raises(ValueError, match='PROXYSTORE_GLOBUS_CLIENT_ID'):
        GlobusAuthenticator()
    client_id = str(uuid.uuid4())
    auth = GlobusAuthenticator(client_id, 'secret')
    assert auth.auth_client.client_id == client_id
    assert auth.audience == RELAY_RESOURCE_SERVER
    monkeypatch.setenv('PROXYSTORE_GLOBUS_CLIENT_ID', client_id)
    monkeypatch.setenv('PROXYSTORE_GLOBUS_CLIENT_SECRET', 'secret')
    assert GlobusAuthenticator().auth_client.client_id == client_id


def test_default_audience_is_the_relay_resource_server() -> None:
    try:
        scopes = importlib.import_module('proxystore.globus.scopes')
    except ImportError:
        pytest.skip('proxystore.globus.scopes does not exist yet')
    assert (
        scopes.ProxyStoreRelayScopes.resource_server == RELAY_RESOURCE_SERVER
    )


def test_get_authenticator() -> None:
    assert isinstance(
        get_authenticator(RelayAuthConfig()),
        NullAuthenticator,
    )
    config = RelayAuthConfig(
        method='globus',
        kwargs={'client_id': str(uuid.uuid4()), 'client_secret': 's'},
    )
    assert isinstance(get_authenticator(config), GlobusAuthenticator)
    bad = RelayAuthConfig.model_construct(method='ldap', kwargs={})
    with pytest.raises(ValueError, match='Unknown authentication method'):
        get_authenticator(bad)
