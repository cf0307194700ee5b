"""A stored Globus login authenticates an endpoint with a Globus relay.

The endpoint side builds its `Authorization` header from the tokens of
`proxystore-globus-auth login`; the relay's `GlobusAuthenticator`
introspects that token (Globus Auth is a registered-response double) and
checks that its audience is the relay's resource server.
"""

from __future__ import annotations

import logging
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import pytest
from click import testing as click_testing
from globus_sdk.testing import RegisteredResponse

from proxystore.endpoint import serve
from proxystore.globus.cli import cli
from proxystore.globus.constants import PROXYSTORE_GLOBUS_CLIENT_ID
from proxystore.globus.scopes import ProxyStoreRelayScopes
from proxystore.p2p.relay.authenticate import GlobusAuthenticator
from proxystore.p2p.relay.authenticate import GlobusUser
from proxystore.p2p.relay.exceptions import ForbiddenError
from tests.fixtures.globus import CLIENT_ID
from tests.fixtures.globus import CLIENT_SECRET
from tests.fixtures.globus import USER_NAME
from tests.fixtures.globus import USER_SUB
from tests.fixtures.globus import register_user_login
from tests.helpers.scripts import run_python

pytestmark = pytest.mark.timeout(60)


def _introspection(mock: Any, audience: str) -> None:
    RegisteredResponse(
        service='auth',
        path='/v2/oauth2/token/introspect',
        method='POST',
        json={
            'active': True,
            'aud': [audience],
            'sub': USER_SUB,
            'username': USER_NAME,
            'email': USER_NAME,
            'name': 'Jane',
        },
    ).add(requests_mock=mock)


def test_logged_in_endpoint_is_the_globus_user_at_the_relay(
    globus_home: Path,
    globus_mock: Any,
) -> None:
    register_user_login(globus_mock, PROXYSTORE_GLOBUS_CLIENT_ID)
    result = click_testing.CliRunner().invoke(cli, ['login'], input='c\n')
    assert result.exit_code == 0, result.output

    headers = serve._get_auth_headers('globus')
    assert headers == {'Authorization': 'Bearer relay-access'}

    _introspection(globus_mock, ProxyStoreRelayScopes.resource_server)
    relay = GlobusAuthenticator(CLIENT_ID, CLIENT_SECRET)
    user = relay.authenticate_user(headers)
    assert user == GlobusUser(USER_NAME, uuid.UUID(USER_SUB))
    assert user.display_name == 'Jane'
    introspected = globus_mock.calls[-1].request
    assert urllib.parse.parse_qs(introspected.body)['token'] == [
        'relay-access',
    ]


def test_token_for_another_audience_is_refused(globus_mock: Any) -> None:
    _introspection(globus_mock, 'transfer.api.globus.org')
    relay = GlobusAuthenticator(CLIENT_ID, CLIENT_SECRET)
    with pytest.raises(ForbiddenError, match='confused deputy'):
        relay.authenticate_user({'Authorization': 'Bearer transfer-token'})


def test_endpoint_without_login_exits_with_the_hint(
    globus_home: Path,
    globus_mock: Any,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as info:
        serve._get_auth_headers('globus')
    assert info.value.code == 1
    assert 'proxystore-globus-auth login' in caplog.text
    assert len(globus_mock.calls) == 0


def test_relay_without_globus_sdk(tmp_path: Path) -> None:
    script = tmp_path / 'relay_without_globus_sdk.py'
    script.write_text(
        'import sys\n'
        "sys.modules['globus_sdk'] = None  # as if it were not installed\n"
        'from proxystore.p2p.relay import authenticate\n'
        'print(authenticate.RELAY_RESOURCE_SERVER)\n'
        'print(authenticate.NullAuthenticator().authenticate_user({}))\n'
        'try:\n'
        "    authenticate.GlobusAuthenticator('id', 'secret')\n"
        'except ImportError as e:\n'
        '    print(e)\n',
    )
    lines = run_python(script).stdout.splitlines()
    assert lines[0] == ProxyStoreRelayScopes.resource_server
    assert lines[1] == 'NullUser()'
    assert 'pip install proxystore[globus]' in lines[2]
