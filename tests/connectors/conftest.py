"""The shared connector suite runs against every connector in this list.

Each name `X` needs a fixture `X_connector` (see `tests/fixtures/`) that
yields an open connector and closes it afterwards. A new connector joins the
suite by adding its name here and its fixture there.

A connector that cannot do everything the suite checks declares its limits
with an optional fixture `X_connector_traits` returning `ConnectorTraits`
next to `X_connector`; the suite skips what a connector declares it cannot
do instead of checking connector names.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

CONNECTOR_NAMES = ['local', 'file', 'redis', 'multi', 'endpoint', 'shm']


@dataclasses.dataclass(frozen=True)
class ConnectorTraits:
    """What the shared suite may expect of a connector.

    Attributes:
        config_reaches_data: `from_config(config())`, in this or another
            process, reaches the objects stored through the original.
    """

    config_reaches_data: bool = True


@pytest.fixture(params=CONNECTOR_NAMES)
def connector(request: pytest.FixtureRequest) -> Any:
    """An open connector of each kind in turn."""
    return request.getfixturevalue(f'{request.param}_connector')


@pytest.fixture
def connector_traits(request: pytest.FixtureRequest) -> ConnectorTraits:
    """Declared limits of the connector under test (defaults: none)."""
    name = request.node.callspec.params['connector']
    try:
        traits = request.getfixturevalue(f'{name}_connector_traits')
    except pytest.FixtureLookupError:
        return ConnectorTraits()
    assert isinstance(traits, ConnectorTraits)
    return traits
