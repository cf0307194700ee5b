"""Identifiers of ProxyStore's Globus Auth clients and resource servers.

This module needs no third-party package, so code that only needs the
identifiers (e.g., the relay, which works without `globus-sdk`) can
import it freely.
"""

from __future__ import annotations

PROXYSTORE_GLOBUS_CLIENT_ID = 'a3379dba-a492-459a-a8df-5e7676a0472f'
"""Client ID of ProxyStore's registered Globus native app."""

PROXYSTORE_GLOBUS_CLIENT_ID_ENV_NAME = 'PROXYSTORE_GLOBUS_CLIENT_ID'
"""Environment variable holding a confidential client ID."""

PROXYSTORE_GLOBUS_CLIENT_SECRET_ENV_NAME = 'PROXYSTORE_GLOBUS_CLIENT_SECRET'
"""Environment variable holding a confidential client secret."""

RELAY_RESOURCE_SERVER = 'ebd5bbed-95e2-47cf-9c80-39e2064274bd'
"""Globus Auth resource server of the ProxyStore relay."""

LOGIN_HINT = 'proxystore-globus-auth login'
"""The command that logs a user in to Globus for ProxyStore."""
