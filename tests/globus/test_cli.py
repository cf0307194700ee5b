"""`proxystore-globus-auth`: a real login flow against a Globus Auth double.

Globus Auth is replaced by registered responses (OpenID configuration,
JWKS, the code exchange, userinfo, revocation); the id_token is signed
with a key the test makes, so globus-sdk verifies it as it would in
production.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import globus_sdk
import pytest
from click import testing as click_testing
from globus_sdk.testing import RegisteredResponse
from globus_sdk.testing import load_response

from proxystore.globus import cli as cli_module
from proxystore.globus.app import get_token_storage
from proxystore.globus.cli import cli
from proxystore.globus.constants import PROXYSTORE_GLOBUS_CLIENT_ID
from proxystore.globus.constants import RELAY_RESOURCE_SERVER
from proxystore.globus.scopes import get_all_scopes_by_resource_server
from tests.fixtures.globus import CLIENT_ID
from tests.fixtures.globus import USER_NAME
from tests.fixtures.globus import USER_SUB
from tests.fixtures.globus import register_user_login

pytestmark = pytest.mark.timeout(60)

TOKEN_URL = 'https://auth.globus.org/v2/oauth2/token'


def _run(*args: str, input: str | None = None) -> Any:
    runner = click_testing.CliRunner()
    return runner.invoke(cli, list(args), input=input)


def _login(mock: Any, *args: str) -> Any:
    register_user_login(mock, PROXYSTORE_GLOBUS_CLIENT_ID)
    return _run('login', *args, input='the-code\n')


def _stored(home: Path) -> set[str]:
    storage = get_token_storage()
    try:
        return set(storage.get_token_data_by_resource_server())
    finally:
        storage.close()


def test_login_stores_tokens(globus_home: Path, globus_mock: Any) -> None:
    result = _login(globus_mock)
    assert result.exit_code == 0, result.output
    assert 'Please visit the following url to authenticate:' in result.output
    assert 'https://auth.globus.org/v2/oauth2/authorize?' in result.output
    assert 'Enter the auth code: ' in result.output
    assert 'Logged in to Globus.' in result.output
    exchange = [c for c in globus_mock.calls if c.request.url == TOKEN_URL]
    assert 'code=the-code' in exchange[0].request.body
    assert _stored(globus_home) == {
        'auth.globus.org',
        RELAY_RESOURCE_SERVER,
        'transfer.api.globus.org',
    }
    assert stat.S_IMODE((globus_home / 'storage.db').stat().st_mode) == 0o600
    assert stat.S_IMODE(globus_home.stat().st_mode) == 0o700

    # Logged in: a second login does nothing.
    result = _run('login')
    assert result.exit_code == 0
    assert 'Globus authentication tokens already exist.' in result.output


def test_login_asks_for_collection_consent_and_domains(
    globus_home: Path,
    globus_mock: Any,
) -> None:
    collection = '0b8d1c8a-0000-4000-8000-000000000001'
    result = _login(globus_mock, '-c', collection, '-d', 'example.org')
    assert result.exit_code == 0, result.output
    url = next(
        line for line in result.output.splitlines() if 'authorize?' in line
    )
    assert f'{collection}%2Fdata_access' in url
    assert 'session_required_single_domain=example.org' in url
    assert 'prompt=login' in url


def test_login_uses_module_globals(
    globus_home: Path,
    globus_mock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[tuple[str, ...]] = []
    real = get_all_scopes_by_resource_server

    def spy(collections: tuple[str, ...] = ()) -> Any:
        asked.append(tuple(collections))
        return real(collections)

    monkeypatch.setattr(cli_module, 'get_all_scopes_by_resource_server', spy)
    assert _login(globus_mock, '--collection', CLIENT_ID).exit_code == 0
    assert asked == [(CLIENT_ID,)]


def test_whoami_and_logout(globus_home: Path, globus_mock: Any) -> None:
    result = _run('whoami')
    assert result.exit_code == 1
    assert 'Not logged in. Run `proxystore-globus-auth login`.' in (
        result.output
    )
    assert _login(globus_mock).exit_code == 0
    RegisteredResponse(
        service='auth',
        path='/v2/oauth2/userinfo',
        json={
            'sub': USER_SUB,
            'preferred_username': USER_NAME,
            'email': 'jane@example.org',
        },
    ).add(requests_mock=globus_mock)
    result = _run('whoami')
    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        f'{USER_NAME} ({USER_SUB}) <jane@example.org>'
    )

    load_response(
        globus_sdk.NativeAppAuthClient.oauth2_revoke_token,
        requests_mock=globus_mock,
    )
    result = _run('logout')
    assert result.exit_code == 0, result.output
    revoked = [
        c.request.body
        for c in globus_mock.calls
        if c.request.url.endswith('/token/revoke')
    ]
    # An access and a refresh token for each of the three services.
    assert len(revoked) == 6
    assert any('transfer-refresh' in body for body in revoked)
    assert _stored(globus_home) == set()
    assert _run('whoami').exit_code == 1


def test_whoami_with_a_revoked_refresh_token(
    globus_home: Path,
    globus_mock: Any,
) -> None:
    assert _login(globus_mock).exit_code == 0
    storage = get_token_storage()
    auth = storage.get_token_data('auth.globus.org')
    assert auth is not None
    auth.expires_at_seconds = 0  # expired: a refresh is needed
    storage.store_token_data_by_resource_server({'auth.globus.org': auth})
    storage.close()
    load_response(
        globus_sdk.NativeAppAuthClient.oauth2_exchange_code_for_tokens,
        case='invalid_grant',
        requests_mock=globus_mock,
    )
    result = _run('whoami')
    assert result.exit_code == 1
    assert 'Globus Auth refused the stored tokens' in result.output
    assert 'proxystore-globus-auth login' in result.output


def test_whoami_with_client_identity(globus_client_env: Path) -> None:
    result = _run('whoami')
    assert result.exit_code == 0
    assert CLIENT_ID in result.output
