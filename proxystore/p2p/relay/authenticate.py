"""Authenticating relay clients from their opening handshake headers.

The relay calls `Authenticator.authenticate_user` with the HTTP headers of
a client's websocket handshake and registers the client under the
returned user. Clients of one user can only reach clients of the same
user, and only that user can replace a registered UUID.

- `NullAuthenticator`: no authentication; every client is the same
  `NullUser` (so the relay then relies on endpoint secrets, see
  `proxystore.p2p.relay.secret`, and binds loopback by default).
- `GlobusAuthenticator`: the client sends `Authorization: Bearer <token>`
  holding a Globus Auth access token for the relay's resource server; the
  relay introspects it and the user is the Globus identity. Needs the
  `globus-sdk` package (the `globus` extra).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any
from typing import Protocol
from typing import TypeVar
from typing import runtime_checkable

from proxystore.globus.constants import (
    PROXYSTORE_GLOBUS_CLIENT_ID_ENV_NAME as CLIENT_ID_ENV_NAME,
)
from proxystore.globus.constants import (
    PROXYSTORE_GLOBUS_CLIENT_SECRET_ENV_NAME as CLIENT_SECRET_ENV_NAME,
)
from proxystore.globus.constants import RELAY_RESOURCE_SERVER
from proxystore.p2p.relay.exceptions import ForbiddenError
from proxystore.p2p.relay.exceptions import InternalServerError
from proxystore.p2p.relay.exceptions import UnauthorizedError

if TYPE_CHECKING:
    import globus_sdk

    from proxystore.p2p.relay.config import RelayAuthConfig

UserT = TypeVar('UserT', covariant=True)
"""Type of the user an authenticator returns."""

# Globus Auth resource server of the ProxyStore relay (the default token
# audience of GlobusAuthenticator; `proxystore.globus.scopes
# .ProxyStoreRelayScopes.resource_server`) and the environment variables
# read when no Globus client ID or secret is given. The constants module
# needs no globus-sdk, so the relay works without it.


@runtime_checkable
class Authenticator(Protocol[UserT]):
    """Decides who a connecting relay client is."""

    def authenticate_user(self, headers: Mapping[str, str]) -> UserT:
        """Return the user the handshake `headers` authenticate.

        Raises:
            UnauthorizedError: If the headers carry no usable credentials.
            ForbiddenError: If the credentials are invalid or expired.
        """
        ...


class NullUser:
    """The anonymous user of a relay without authentication.

    Every two `NullUser` instances are equal.
    """

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NullUser)

    def __hash__(self) -> int:
        return hash(NullUser)

    def __repr__(self) -> str:
        return 'NullUser()'


class NullAuthenticator:
    """Authenticator that accepts everyone as the same `NullUser`."""

    def authenticate_user(self, headers: Mapping[str, str]) -> NullUser:
        """Return a `NullUser`, whatever the headers."""
        return NullUser()


@dataclasses.dataclass(frozen=True, eq=False)
class GlobusUser:
    """A Globus Auth identity.

    Two users are equal if and only if their `sub` (identity ID) is.

    Attributes:
        username: Identity username, e.g. `jane@example.org`.
        sub: Globus identity ID.
        email: Email address, if the token shares it.
        display_name: Display name, if the token shares it.
    """

    username: str
    sub: uuid.UUID
    email: str | None = None
    display_name: str | None = None

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GlobusUser):
            return False
        return self.sub == other.sub

    def __hash__(self) -> int:
        return hash(self.sub)


def get_token_from_headers(headers: Mapping[str, str]) -> str:
    """Return the bearer token of an `Authorization: Bearer <t>` header.

    Raises:
        UnauthorizedError: If the header is missing or malformed.
    """
    if 'Authorization' not in headers:
        raise UnauthorizedError(
            'Request headers are missing authorization header.',
        )
    parts = headers['Authorization'].split(' ')
    if len(parts) != 2 or parts[0] != 'Bearer' or not parts[1]:
        raise UnauthorizedError(
            'Bearer token in authorization header is malformed.',
        )
    return parts[1]


def _confidential_client(
    client_id: str | None,
    client_secret: str | None,
) -> globus_sdk.ConfidentialAppAuthClient:
    # proxystore.globus.client needs globus-sdk: imported when asked for.
    from proxystore.globus.client import get_confidential_app_auth_client

    try:
        return get_confidential_app_auth_client(client_id, client_secret)
    except ValueError as e:
        raise ValueError(
            'GlobusAuthenticator needs a Globus client ID and secret: pass '
            'client_id and client_secret (in the relay config: '
            '[auth.kwargs]) or set both the '
            f'{CLIENT_ID_ENV_NAME} and {CLIENT_SECRET_ENV_NAME} '
            'environment variables.',
        ) from e


class GlobusAuthenticator:
    """Authenticates clients by introspecting their Globus Auth token.

    Args:
        client_id: Globus client ID of the relay's confidential app
            (default: the `PROXYSTORE_GLOBUS_CLIENT_ID` environment
            variable).
        client_secret: Its secret (default: the
            `PROXYSTORE_GLOBUS_CLIENT_SECRET` environment variable).
        audience: Resource server that tokens must be issued for; tokens
            for other audiences are refused (confused deputy).
        auth_client: A ready auth client to use instead of building one
            from `client_id` and `client_secret`.

    Raises:
        ImportError: If `globus-sdk` is not installed.
        ValueError: If no auth client is given and the client ID or secret
            is missing.
    """

    def __init__(
        self,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        audience: str = RELAY_RESOURCE_SERVER,
        auth_client: globus_sdk.ConfidentialAppAuthClient | None = None,
    ) -> None:
        try:
            import globus_sdk  # noqa: F401
        except ImportError as e:  # pragma: no cover - depends on extras
            raise ImportError(
                'GlobusAuthenticator requires globus-sdk. Install it with '
                '`pip install proxystore[globus]`.',
            ) from e
        self.auth_client = (
            _confidential_client(client_id, client_secret)
            if auth_client is None
            else auth_client
        )
        self.audience = audience

    def authenticate_user(self, headers: Mapping[str, str]) -> GlobusUser:
        """Return the Globus identity of the handshake's bearer token.

        Raises:
            UnauthorizedError: If the authorization header is missing or
                malformed.
            ForbiddenError: If the token is inactive (expired or revoked),
                is not issued for `audience`, or names no identity.
            InternalServerError: If Globus Auth cannot be asked.
        """
        import globus_sdk

        token = get_token_from_headers(headers)
        try:
            response = self.auth_client.oauth2_token_introspect(token)
        except (globus_sdk.GlobusAPIError, globus_sdk.NetworkError) as e:
            raise InternalServerError(
                f'Failed to introspect the token with Globus Auth: {e}',
            ) from e
        meta: Mapping[str, Any] = response.data
        if not meta.get('active', False):
            raise ForbiddenError('Token is expired or has been revoked.')
        audiences = meta.get('aud') or []
        if self.audience is not None and self.audience not in audiences:
            raise ForbiddenError(
                f'Token audience does not include "{self.audience}". This '
                'could result in a confused deputy attack. Ensure the '
                'correct scopes are requested when the token is created.',
            )
        try:
            sub = uuid.UUID(str(meta['sub']))
            username = str(meta['username'])
        except (KeyError, ValueError) as e:
            raise ForbiddenError(
                'Token introspection returned no valid identity.',
            ) from e
        email = meta.get('email')
        name = meta.get('name')
        return GlobusUser(
            username=username,
            sub=sub,
            email=None if email is None else str(email),
            display_name=None if name is None else str(name),
        )


def get_authenticator(config: RelayAuthConfig) -> Authenticator[Any]:
    """Return the authenticator a relay auth config names.

    Raises:
        ValueError: If the method is unknown.
    """
    if config.method is None:
        return NullAuthenticator()
    if config.method == 'globus':
        return GlobusAuthenticator(**config.kwargs)
    raise ValueError(f'Unknown authentication method "{config.method}".')
