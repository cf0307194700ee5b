"""The shared connector suite runs against every connector in this list.

Each name `X` needs a fixture `X_connector` (see `tests/fixtures/`) that
yields an open connector and closes it afterwards. A new connector joins the
suite by adding its name here and its fixture there.
"""

from __future__ import annotations

from typing import Any

import pytest

CONNECTOR_NAMES = ['local', 'file', 'redis', 'multi', 'endpoint']


@pytest.fixture(params=CONNECTOR_NAMES)
def connector(request: pytest.FixtureRequest) -> Any:
    """An open connector of each kind in turn."""
    return request.getfixturevalue(f'{request.param}_connector')
