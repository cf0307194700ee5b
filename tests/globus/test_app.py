"""Globus apps and token storage (Globus Auth: registered responses)."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path
from typing import Any

import globus_sdk
import pytest
from globus_sdk.globus_app import ClientApp
from globus_sdk.globus_app import UserApp
from globus_sdk.testing import load_response
from globus_sdk.token_storage import TokenStorageData

from proxystore.globus import app as app_module
from proxystore.globus.app import GlobusLoginRequiredError
from proxystore.globus.app import auth_refusals
from proxystore.globus.app import get_client_app
from proxystore.globus.app import get_client_credentials_from_env
from proxystore.globus.app import get_globus_app
from proxystore.globus.app import get_token_storage
from proxystore.globus.app import get_user_app
from proxystore.globus.app import is_client_login
from tests.fixtures.globus import CLIENT_ID
from tests.fixtures.globus import USER_SUB

pytestmark = pytest.mark.timeout(60)

TRANSFER_RS = 'transfer.api.globus.org'
ENDPOINT = 'https://transfer.api.globus.org/v0.10/endpoint'


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_constants() -> None:
    assert app_module.PROXYSTORE_GLOBUS_CLIENT_ID == (
        'a3379dba-a492-459a-a8df-5e7676a0472f'
    )
    assert app_module._APP_NAME == 'proxystore'
    assert app_module._TOKENS_FILE == 'storage.db'


def test_token_storage_is_private(globus_home: Path) -> None:
    storage = get_token_storage()
    path = globus_home / 'storage.db'
    assert Path(storage.filepath) == path
    assert _mode(path) == 0o600
    assert _mode(globus_home) == 0o700
    storage.close()


def test_token_storage_tightens_loose_modes(globus_home: Path) -> None:
    globus_home.mkdir(mode=0o755)
    os.chmod(globus_home, 0o755)
    get_token_storage().close()
    path = globus_home / 'storage.db'
    os.chmod(path, 0o644)
    get_token_storage().close()
    assert _mode(path) == 0o600
    assert _mode(globus_home) == 0o700


def test_token_storage_custom_path(tmp_path: Path) -> None:
    path = tmp_path / 'new' / 'tokens.db'
    os.chmod(tmp_path, 0o755)
    storage = get_token_storage(path, namespace='mine')
    assert storage.namespace == 'mine'
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700
    assert _mode(tmp_path) == 0o755  # a folder we did not create is kept
    storage.close()


def test_client_credentials_need_both_variables(
    globus_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert not is_client_login()
    monkeypatch.setenv('PROXYSTORE_GLOBUS_CLIENT_ID', CLIENT_ID)
    with pytest.raises(ValueError) as info:
        get_client_credentials_from_env()
    assert 'PROXYSTORE_GLOBUS_CLIENT_ID' in str(info.value)
    assert 'PROXYSTORE_GLOBUS_CLIENT_SECRET' in str(info.value)
    assert not is_client_login()
    assert isinstance(get_globus_app(), UserApp)
    with pytest.raises(ValueError, match='PROXYSTORE_GLOBUS_CLIENT_SECRET'):
        get_client_app()
    monkeypatch.setenv('PROXYSTORE_GLOBUS_CLIENT_SECRET', 's')
    assert get_client_credentials_from_env() == (CLIENT_ID, 's')
    assert is_client_login()
    assert isinstance(get_globus_app(), ClientApp)


def test_client_app_gets_and_stores_tokens(
    globus_client_env: Path,
    globus_mock: Any,
) -> None:
    grant = load_response(
        globus_sdk.ConfidentialAppAuthClient.oauth2_client_credentials_tokens,
        requests_mock=globus_mock,
    )
    endpoint = load_response(
        globus_sdk.TransferClient.get_endpoint,
        requests_mock=globus_mock,
    )
    endpoint_id = endpoint.metadata['endpoint_id']
    client = globus_sdk.TransferClient(app=get_globus_app())
    assert client.get_endpoint(endpoint_id)['id'] == endpoint_id
    last = globus_mock.calls[-1].request
    assert last.headers['Authorization'] == (
        f'Bearer {grant.metadata["access_token"]}'
    )
    # A new app (e.g., another process) reuses the stored token.
    client = globus_sdk.TransferClient(app=get_client_app())
    client.get_endpoint(endpoint_id)
    grants = [c for c in globus_mock.calls if c.request.url.endswith('/token')]
    assert len(grants) == 1
    assert _mode(globus_client_env / 'storage.db') == 0o600


def test_user_app_not_logged_in_is_a_clear_error(
    globus_home: Path,
    globus_mock: Any,
) -> None:
    client = globus_sdk.TransferClient(app=get_user_app())
    with pytest.raises(GlobusLoginRequiredError) as info:
        client.get_endpoint(CLIENT_ID)
    assert 'proxystore-globus-auth login' in str(info.value)
    assert isinstance(info.value, globus_sdk.GlobusError)
    assert len(globus_mock.calls) == 0  # nothing was sent without a token


def _store(home: Path, **fields: Any) -> None:
    data: dict[str, Any] = {
        'resource_server': TRANSFER_RS,
        'identity_id': USER_SUB,
        'scope': 'urn:globus:auth:scope:transfer.api.globus.org:all',
        'access_token': 'old-access',
        'refresh_token': None,
        'expires_at_seconds': int(time.time()) - 60,
        'token_type': 'Bearer',
    }
    data.update(fields)
    storage = get_token_storage()
    storage.store_token_data_by_resource_server(
        {TRANSFER_RS: TokenStorageData(**data)},
    )
    storage.close()


def test_user_app_expired_token_is_a_clear_error(
    globus_home: Path,
    globus_mock: Any,
) -> None:
    _store(globus_home)
    client = globus_sdk.TransferClient(app=get_user_app())
    with pytest.raises(GlobusLoginRequiredError, match='login'):
        client.get_endpoint(CLIENT_ID)
    assert len(globus_mock.calls) == 0


def test_user_app_refreshes_expired_token(
    globus_home: Path,
    globus_mock: Any,
) -> None:
    _store(globus_home, refresh_token='refresh-me')
    load_response(
        globus_sdk.ConfidentialAppAuthClient.oauth2_client_credentials_tokens,
        requests_mock=globus_mock,
    )
    endpoint = load_response(
        globus_sdk.TransferClient.get_endpoint,
        requests_mock=globus_mock,
    )
    client = globus_sdk.TransferClient(app=get_user_app())
    client.get_endpoint(endpoint.metadata['endpoint_id'])
    refresh = globus_mock.calls[0].request
    assert 'grant_type=refresh_token' in refresh.body
    assert 'refresh-me' in refresh.body
    assert globus_mock.calls[-1].request.headers['Authorization'] == (
        'Bearer DUMMY_TRANSFER_TOKEN_FROM_THE_INTERTUBES'
    )


def test_user_app_refused_refresh_is_a_clear_error(
    globus_home: Path,
    globus_mock: Any,
) -> None:
    _store(globus_home, refresh_token='revoked')
    load_response(
        globus_sdk.NativeAppAuthClient.oauth2_exchange_code_for_tokens,
        case='invalid_grant',
        requests_mock=globus_mock,
    )
    client = globus_sdk.TransferClient(app=get_user_app())
    with pytest.raises(GlobusLoginRequiredError) as info:
        with auth_refusals():
            client.get_endpoint(CLIENT_ID)
    assert 'refused the stored tokens' in str(info.value)
    assert 'proxystore-globus-auth login' in str(info.value)
    assert isinstance(info.value.__cause__, globus_sdk.AuthAPIError)
    # Only the refresh was attempted; Transfer was never called.
    assert [c.request.url for c in globus_mock.calls] == [
        'https://auth.globus.org/v2/oauth2/token',
    ]
