"""The shared connector suite (`proxystore.testing`) over every connector.

Each name `X` in `CONNECTOR_NAMES` needs a fixture `X_connector` (see
`tests/fixtures/`) that yields an open connector and closes it afterwards.
What a connector cannot do is declared by capability flags on its class
(see `proxystore.testing.connectors`), never by connector names here.
"""

from __future__ import annotations

from typing import Any

import pytest

from proxystore.testing.connectors import ConnectorSuite

CONNECTOR_NAMES = ['local', 'file', 'redis', 'multi', 'endpoint', 'shm']


class TestConnectorSuite(ConnectorSuite):
    @pytest.fixture(params=CONNECTOR_NAMES)
    def connector(self, request: pytest.FixtureRequest) -> Any:
        return request.getfixturevalue(f'{request.param}_connector')
