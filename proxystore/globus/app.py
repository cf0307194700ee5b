"""Globus apps holding ProxyStore's Globus Auth tokens.

Two kinds of identity are supported:

* a **user** logs in once with `proxystore-globus-auth login` (a native-app
  flow: open a URL, paste the code back); the tokens, with refresh tokens,
  are kept in `storage.db` in the ProxyStore home
  ([`home_dir()`][proxystore.utils.environment.home_dir]);
* a **client** (a Globus confidential app, e.g. for a service or a batch
  job) is used when both `PROXYSTORE_GLOBUS_CLIENT_ID` and
  `PROXYSTORE_GLOBUS_CLIENT_SECRET` are set; its tokens come from the
  client-credentials grant, without a login.

The token file is created `0600` in a `0700` folder. A user app whose tokens
are missing, expired beyond refresh or lack a scope raises
[`GlobusLoginRequiredError`][proxystore.globus.app.GlobusLoginRequiredError]
(which names the login command) instead of prompting in the middle of a
program.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import globus_sdk
from globus_sdk.globus_app import ClientApp
from globus_sdk.globus_app import GlobusApp
from globus_sdk.globus_app import GlobusAppConfig
from globus_sdk.globus_app import UserApp
from globus_sdk.login_flows import CommandLineLoginFlowManager
from globus_sdk.token_storage import SQLiteTokenStorage
from globus_sdk.token_storage.validating_token_storage import (
    TokenValidationError,
)

from proxystore.globus.constants import LOGIN_HINT
from proxystore.globus.constants import PROXYSTORE_GLOBUS_CLIENT_ID
from proxystore.globus.constants import PROXYSTORE_GLOBUS_CLIENT_ID_ENV_NAME
from proxystore.globus.constants import (
    PROXYSTORE_GLOBUS_CLIENT_SECRET_ENV_NAME,
)
from proxystore.utils.environment import home_dir

__all__ = [
    'PROXYSTORE_GLOBUS_CLIENT_ID',
    'PROXYSTORE_GLOBUS_CLIENT_ID_ENV_NAME',
    'PROXYSTORE_GLOBUS_CLIENT_SECRET_ENV_NAME',
    'GlobusLoginRequiredError',
    'auth_refusals',
    'get_client_app',
    'get_client_credentials_from_env',
    'get_globus_app',
    'get_token_storage',
    'get_user_app',
    'is_client_login',
]

logger = logging.getLogger(__name__)

_APP_NAME = 'proxystore'
_TOKENS_FILE = 'storage.db'
_DIRECTORY_MODE = 0o700
_FILE_MODE = 0o600
_LOOSE_BITS = stat.S_IRWXG | stat.S_IRWXO


class GlobusLoginRequiredError(TokenValidationError):
    """No usable Globus tokens: the user must log in again.

    Raised by the apps of
    [`get_user_app()`][proxystore.globus.app.get_user_app] when tokens
    are missing, expired beyond refresh, or lack a scope the program needs.
    It is a `TokenValidationError` of `globus-sdk`.
    """


def _private_directory(path: Path, *, tighten: bool) -> None:
    path.mkdir(mode=_DIRECTORY_MODE, parents=True, exist_ok=True)
    if not tighten:
        return
    info = path.stat()
    if info.st_uid == os.getuid() and info.st_mode & _LOOSE_BITS:
        os.chmod(path, _DIRECTORY_MODE)
        logger.info('Restricted %s to its owner (mode 0700)', path)


def _private_file(path: Path) -> None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return
    if info.st_mode & _LOOSE_BITS:
        os.chmod(path, _FILE_MODE)
        logger.info('Restricted %s to its owner (mode 0600)', path)


def get_token_storage(
    filepath: str | Path | None = None,
    *,
    namespace: str = 'DEFAULT',
) -> SQLiteTokenStorage:
    """Open the SQLite token storage (created if missing).

    The file is made readable by its owner only (`0600`). Missing parent
    folders are created `0700`; the ProxyStore home (the default folder) is
    restricted to `0700` too.

    Args:
        filepath: Database file (default: `storage.db` in the ProxyStore
            home).
        namespace: Namespace of the tokens inside the database.
    """
    default = filepath is None
    path = Path(
        os.path.join(home_dir(), _TOKENS_FILE) if default else str(filepath),
    ).expanduser()
    _private_directory(path.parent, tighten=default)
    _private_file(path)
    storage = SQLiteTokenStorage(path, namespace=namespace)
    _private_file(path)
    return storage


def get_client_credentials_from_env() -> tuple[str, str]:
    """Read the confidential client ID and secret from the environment.

    Returns:
        The client ID and the client secret.

    Raises:
        ValueError: Unless both `PROXYSTORE_GLOBUS_CLIENT_ID` and
            `PROXYSTORE_GLOBUS_CLIENT_SECRET` are set.
    """
    client_id = os.environ.get(PROXYSTORE_GLOBUS_CLIENT_ID_ENV_NAME)
    client_secret = os.environ.get(PROXYSTORE_GLOBUS_CLIENT_SECRET_ENV_NAME)
    if not client_id or not client_secret:
        raise ValueError(
            'Both the '
            f'{PROXYSTORE_GLOBUS_CLIENT_ID_ENV_NAME} and '
            f'{PROXYSTORE_GLOBUS_CLIENT_SECRET_ENV_NAME} environment '
            'variables must be set to use a Globus client identity.',
        )
    return client_id, client_secret


def is_client_login() -> bool:
    """Whether a client identity is configured in the environment.

    True if both `PROXYSTORE_GLOBUS_CLIENT_ID` and
    `PROXYSTORE_GLOBUS_CLIENT_SECRET` are set.
    """
    try:
        get_client_credentials_from_env()
    except ValueError:
        return False
    return True


class _ProxyStoreLoginFlowManager(CommandLineLoginFlowManager):
    """Prints the authorization URL and prompts for the code with click."""

    def print_authorize_url(self, authorize_url: str) -> None:
        import click

        click.secho(
            'Please visit the following url to authenticate:',
            fg='cyan',
        )
        click.echo(authorize_url)

    def prompt_for_code(self) -> str:
        import click

        code: str = click.prompt('Enter the auth code', prompt_suffix=': ')
        return code.strip()


_FIX_HINT = (
    f'Run `{LOGIN_HINT}` (add `--collection UUID` for each Globus '
    'collection that needs consent) or set the '
    f'{PROXYSTORE_GLOBUS_CLIENT_ID_ENV_NAME} and '
    f'{PROXYSTORE_GLOBUS_CLIENT_SECRET_ENV_NAME} environment variables to '
    'use a client identity.'
)


def _require_login(app: GlobusApp, error: TokenValidationError) -> None:
    raise GlobusLoginRequiredError(
        f'Globus tokens are missing or no longer valid ({error}). {_FIX_HINT}',
    ) from error


@contextlib.contextmanager
def auth_refusals() -> Iterator[None]:
    """Report Globus Auth refusing the stored tokens as a login error.

    A refresh token that was revoked (or a wrong client secret) makes
    Globus Auth answer a request's token refresh with an error; inside
    this context that becomes a
    [`GlobusLoginRequiredError`][proxystore.globus.app.GlobusLoginRequiredError]
    saying how to log in again.
    """
    try:
        yield
    except globus_sdk.AuthAPIError as e:
        raise GlobusLoginRequiredError(
            'Globus Auth refused the stored tokens (HTTP '
            f'{e.http_status} {e.code}: {e.message}). {_FIX_HINT}',
        ) from e


def get_user_app() -> UserApp:
    """Return the app of a user logged in with `proxystore-globus-auth`.

    The app keeps its tokens (with refresh tokens) in
    [`get_token_storage()`][proxystore.globus.app.get_token_storage]. It
    logs in only when asked (`app.login()`); a request that finds no usable
    tokens raises
    [`GlobusLoginRequiredError`][proxystore.globus.app.GlobusLoginRequiredError].
    """
    config = GlobusAppConfig(
        login_flow_manager=_ProxyStoreLoginFlowManager,
        token_storage=get_token_storage(),
        request_refresh_tokens=True,
        token_validation_error_handler=_require_login,
    )
    return UserApp(
        app_name=_APP_NAME,
        client_id=PROXYSTORE_GLOBUS_CLIENT_ID,
        config=config,
    )


def get_client_app(
    client_id: str | None = None,
    client_secret: str | None = None,
) -> ClientApp:
    """Return the app of a Globus confidential client.

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
    config = GlobusAppConfig(
        token_storage=get_token_storage(),
        request_refresh_tokens=True,
    )
    return ClientApp(
        app_name=_APP_NAME,
        client_id=client_id,
        client_secret=client_secret,
        config=config,
    )


def get_globus_app() -> GlobusApp:
    """Return the client app if one is configured, else the user app."""
    if is_client_login():
        return get_client_app()
    return get_user_app()
