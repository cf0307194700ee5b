"""The Globus Auth scopes ProxyStore asks for."""

from __future__ import annotations

from collections.abc import Iterable

import globus_sdk
from globus_sdk.scopes import AuthScopes
from globus_sdk.scopes import GCSCollectionScopes
from globus_sdk.scopes import Scope
from globus_sdk.scopes import StaticScopeCollection
from globus_sdk.scopes import TransferScopes

from proxystore.globus.constants import RELAY_RESOURCE_SERVER

__all__ = [
    'ProxyStoreRelayScopes',
    'get_all_scopes_by_resource_server',
    'get_auth_scopes_by_resource_server',
    'get_relay_scopes_by_resource_server',
    'get_transfer_scopes_by_resource_server',
    'uses_data_access',
]


class _ProxyStoreRelayScopes(StaticScopeCollection):
    """Scopes of the ProxyStore relay's resource server."""

    resource_server = RELAY_RESOURCE_SERVER

    relay_all = Scope(
        f'https://auth.globus.org/scopes/{RELAY_RESOURCE_SERVER}/relay_all',
    )


ProxyStoreRelayScopes = _ProxyStoreRelayScopes()
"""Scopes of the ProxyStore relay: `relay_all` on `resource_server`."""


def get_auth_scopes_by_resource_server() -> dict[str, list[Scope]]:
    """Return the Globus Auth scopes (identity and email)."""
    return {
        AuthScopes.resource_server: [
            AuthScopes.openid,
            AuthScopes.email,
            AuthScopes.view_identity_set,
        ],
    }


def get_relay_scopes_by_resource_server() -> dict[str, list[Scope]]:
    """Return the scopes of the ProxyStore relay."""
    return {
        ProxyStoreRelayScopes.resource_server: [
            ProxyStoreRelayScopes.relay_all,
        ],
    }


def get_transfer_scopes_by_resource_server(
    collections: Iterable[str] = (),
) -> dict[str, list[Scope]]:
    """Return the Transfer scope, with data access to `collections`.

    Args:
        collections: UUIDs of Globus Connect Server v5 mapped collections
            that need a `data_access` consent.
    """
    transfer_scope = TransferScopes.all
    for collection in collections:
        transfer_scope = transfer_scope.with_dependency(
            GCSCollectionScopes(collection).data_access,
        )
    return {TransferScopes.resource_server: [transfer_scope]}


def get_all_scopes_by_resource_server(
    collections: Iterable[str] = (),
) -> dict[str, list[Scope]]:
    """Return the Auth, relay and Transfer scopes ProxyStore uses.

    Args:
        collections: UUIDs of mapped collections needing `data_access`.
    """
    scopes: dict[str, list[Scope]] = {}
    scopes.update(get_auth_scopes_by_resource_server())
    scopes.update(get_relay_scopes_by_resource_server())
    scopes.update(get_transfer_scopes_by_resource_server(collections))
    return scopes


def uses_data_access(
    client: globus_sdk.TransferClient,
    collection: str,
) -> bool:
    """Whether a collection needs a `data_access` consent.

    That is the case for Globus Connect Server v5 mapped collections that
    are not high assurance.

    Args:
        client: Transfer client used to look the collection up.
        collection: UUID of the collection.
    """
    endpoint = client.get_endpoint(collection)
    return bool(
        endpoint['entity_type'] == 'GCSv5_mapped_collection'
        and not endpoint['high_assurance'],
    )
