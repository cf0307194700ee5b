"""Scopes and clients (Globus Transfer is a registered-response double)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import globus_sdk
import pytest
from globus_sdk.testing import RegisteredResponse

from proxystore.globus import client as client_module
from proxystore.globus.app import get_globus_app
from proxystore.globus.client import get_confidential_app_auth_client
from proxystore.globus.client import get_native_app_auth_client
from proxystore.globus.client import get_transfer_client
from proxystore.globus.scopes import ProxyStoreRelayScopes
from proxystore.globus.scopes import get_all_scopes_by_resource_server
from proxystore.globus.scopes import uses_data_access
from tests.fixtures.globus import CLIENT_ID
from tests.fixtures.globus import CLIENT_SECRET
from tests.fixtures.globus import response_json

pytestmark = pytest.mark.timeout(60)

RELAY_RS = 'ebd5bbed-95e2-47cf-9c80-39e2064274bd'
MAPPED = '0b8d1c8a-0000-4000-8000-000000000001'
GUEST = '0b8d1c8a-0000-4000-8000-000000000002'
SECURE = '0b8d1c8a-0000-4000-8000-000000000003'


def _register_collections(mock: Any) -> None:
    doc = response_json(globus_sdk.TransferClient.get_endpoint)
    for collection, entity_type, high_assurance in (
        (MAPPED, 'GCSv5_mapped_collection', False),
        (GUEST, 'GCSv5_guest_collection', False),
        (SECURE, 'GCSv5_mapped_collection', True),
    ):
        RegisteredResponse(
            service='transfer',
            path=f'/v0.10/endpoint/{collection}',
            json=dict(
                doc,
                id=collection,
                entity_type=entity_type,
                high_assurance=high_assurance,
            ),
        ).add(requests_mock=mock)


def test_relay_scopes() -> None:
    assert ProxyStoreRelayScopes.resource_server == RELAY_RS
    assert str(ProxyStoreRelayScopes.relay_all) == (
        f'https://auth.globus.org/scopes/{RELAY_RS}/relay_all'
    )
    assert list(ProxyStoreRelayScopes) == [ProxyStoreRelayScopes.relay_all]


def test_all_scopes() -> None:
    scopes = get_all_scopes_by_resource_server([MAPPED])
    assert set(scopes) == {
        'auth.globus.org',
        RELAY_RS,
        'transfer.api.globus.org',
    }
    assert [str(s) for s in scopes['auth.globus.org']] == [
        'openid',
        'email',
        'urn:globus:auth:scope:auth.globus.org:view_identity_set',
    ]
    (transfer,) = scopes['transfer.api.globus.org']
    assert str(transfer) == (
        'urn:globus:auth:scope:transfer.api.globus.org:all'
        f'[https://auth.globus.org/scopes/{MAPPED}/data_access]'
    )


def test_auth_clients(globus_client_env: Path) -> None:
    confidential = get_confidential_app_auth_client()
    assert confidential.client_id == CLIENT_ID
    assert get_confidential_app_auth_client('x', 'y').client_id == 'x'
    native = get_native_app_auth_client()
    assert native.client_id == 'a3379dba-a492-459a-a8df-5e7676a0472f'
    assert native.app_name == 'proxystore'
    assert get_native_app_auth_client(app_name='other').app_name == 'other'
    assert CLIENT_SECRET


def test_transfer_client_asks_data_access_for_mapped_collections(
    globus_sim: Any,
    globus_mock: Any,
) -> None:
    _register_collections(globus_mock)
    app = get_globus_app()
    client = get_transfer_client(app, collections=[MAPPED, GUEST, SECURE])
    assert uses_data_access(client, MAPPED)
    assert not uses_data_access(client, GUEST)
    assert not uses_data_access(client, SECURE)
    required = ' '.join(
        str(s) for s in app.scope_requirements['transfer.api.globus.org']
    )
    assert f'*https://auth.globus.org/scopes/{MAPPED}/data_access' in required
    assert GUEST not in required
    assert SECURE not in required


def test_transfer_client_uses_module_globals(
    globus_sim: Any,
    globus_mock: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[str] = []

    def spy(client: Any, collection: str) -> bool:
        seen.append(collection)
        return False

    monkeypatch.setattr(client_module, 'uses_data_access', spy)
    get_transfer_client(collections=[MAPPED])
    assert seen == [MAPPED]
