"""The `proxystore-globus-auth` command: log in to Globus for ProxyStore.

```bash
proxystore-globus-auth login [--collection UUID ...] [--domain DOMAIN ...]
proxystore-globus-auth whoami
proxystore-globus-auth logout
```
"""

from __future__ import annotations

import click
import globus_sdk
from globus_sdk.gare import GlobusAuthorizationParameters
from globus_sdk.scopes import AuthScopes

from proxystore.globus.app import GlobusLoginRequiredError
from proxystore.globus.app import auth_refusals
from proxystore.globus.app import get_client_credentials_from_env
from proxystore.globus.app import get_user_app
from proxystore.globus.app import is_client_login
from proxystore.globus.constants import LOGIN_HINT
from proxystore.globus.scopes import get_all_scopes_by_resource_server
from proxystore.globus.scopes import get_auth_scopes_by_resource_server

__all__ = ['cli', 'login', 'logout', 'whoami']


@click.group()
def cli() -> None:
    """Manage the Globus Auth tokens ProxyStore uses."""


@cli.command()
@click.option(
    '--collection',
    '-c',
    'collections',
    metavar='UUID',
    multiple=True,
    help='Collection that needs a data_access consent (repeatable).',
)
@click.option(
    '--domain',
    '-d',
    'domains',
    metavar='DOMAIN',
    multiple=True,
    help='Require an identity from this domain (repeatable).',
)
@click.option(
    '--force',
    is_flag=True,
    help='Log in again even if valid tokens exist.',
)
def login(
    collections: tuple[str, ...],
    domains: tuple[str, ...],
    force: bool,
) -> None:
    """Log in to Globus and store the tokens in the ProxyStore home."""
    app = get_user_app()
    app.add_scope_requirements(get_all_scopes_by_resource_server(collections))
    auth_params = None
    if domains:
        auth_params = GlobusAuthorizationParameters(
            session_message=(
                'Your request requires an identity from specified domains.'
            ),
            session_required_single_domain=list(domains),
            prompt='login',
        )
    if force or app.login_required():
        app.login(auth_params=auth_params)
        click.echo('Logged in to Globus.')
    else:
        click.echo(
            'Globus authentication tokens already exist. To recreate, '
            'logout and login again or rerun with --force.',
        )


@cli.command()
def logout() -> None:
    """Revoke the stored tokens and remove them."""
    get_user_app().logout(sweep=True)
    click.echo('Logged out of Globus: the stored tokens are revoked.')


@cli.command()
def whoami() -> None:
    """Show the Globus identity the stored tokens belong to."""
    if is_client_login():
        client_id, _ = get_client_credentials_from_env()
        click.echo(f'Globus client identity {client_id} (from environment).')
        return
    app = get_user_app()
    app.add_scope_requirements(get_auth_scopes_by_resource_server())
    if app.login_required():
        click.echo(f'Not logged in. Run `{LOGIN_HINT}`.', err=True)
        raise SystemExit(1)
    try:
        with auth_refusals():
            authorizer = app.get_authorizer(AuthScopes.resource_server)
            info = globus_sdk.AuthClient(authorizer=authorizer).userinfo()
    except GlobusLoginRequiredError as e:
        click.echo(str(e), err=True)
        raise SystemExit(1) from e
    name = info.get('preferred_username') or info.get('sub')
    email = info.get('email')
    click.echo(
        f'{name} ({info.get("sub")})' + (f' <{email}>' if email else ''),
    )
