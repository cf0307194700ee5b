"""Globus Auth and Transfer clients built from ProxyStore's apps."""

from __future__ import annotations

from collections.abc import Iterable

import globus_sdk
from globus_sdk.globus_app import GlobusApp

from proxystore.globus.app import _APP_NAME
from proxystore.globus.app import get_client_credentials_from_env
from proxystore.globus.app import get_globus_app
from proxystore.globus.constants import PROXYSTORE_GLOBUS_CLIENT_ID
from proxystore.globus.scopes import uses_data_access

__all__ = [
    'get_confidential_app_auth_client',
    'get_native_app_auth_client',
    'get_transfer_client',
]


def get_confidential_app_auth_client(
    client_id: str | None = None,
    client_secret: str | None = None,
) -> globus_sdk.ConfidentialAppAuthClient:
    """Return an auth client of a confidential app.

    Args:
        client_id: Client ID (default: `PROXYSTORE_GLOBUS_CLIENT_ID`).
        client_secret: Client secret (default:
            `PROXYSTORE_GLOBUS_CLIENT_SECRET`).

    Raises:
        ValueError: If either is missing and the environment does not set
            both.
    """
    if client_id is None or client_secret is None:
        client_id, client_secret = get_client_credentials_from_env()
    return globus_sdk.ConfidentialAppAuthClient(
        client_id=client_id,
        client_secret=client_secret,
    )


def get_native_app_auth_client(
    client_id: str = PROXYSTORE_GLOBUS_CLIENT_ID,
    app_name: str | None = None,
) -> globus_sdk.NativeAppAuthClient:
    """Return an auth client of a native app (ProxyStore's by default).

    Args:
        client_id: Client ID of the native app.
        app_name: Name of the app (default: `'proxystore'`).
    """
    return globus_sdk.NativeAppAuthClient(
        client_id=client_id,
        app_name=_APP_NAME if app_name is None else app_name,
    )


def get_transfer_client(
    globus_app: GlobusApp | None = None,
    collections: Iterable[str] = (),
) -> globus_sdk.TransferClient:
    """Return a Transfer client that can reach `collections`.

    Mapped collections that need a `data_access` consent (see
    [`uses_data_access()`][proxystore.globus.scopes.uses_data_access]) are
    added to the client's scope requirements.

    Args:
        globus_app: App holding the tokens (default:
            [`get_globus_app()`][proxystore.globus.app.get_globus_app]).
        collections: UUIDs of the collections the client will use.
    """
    app = get_globus_app() if globus_app is None else globus_app
    client = globus_sdk.TransferClient(app=app)
    needs_consent = [c for c in collections if uses_data_access(client, c)]
    if needs_consent:
        client.add_app_data_access_scope(needs_consent)
    return client
