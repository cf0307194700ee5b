"""docs/endpoints.md: its examples run and its config example is valid."""

from __future__ import annotations

import pathlib
import sys
import uuid
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

from proxystore.endpoint.config import EndpointConfig
from tests.fixtures.endpoint import endpoint_process
from tests.helpers.docs import doc_blocks


def _block(marker: str, language: str = 'python') -> str:
    [block] = [b for b in doc_blocks('endpoints.md', language) if marker in b]
    return block


@pytest.mark.timeout(120)
def test_commands_example_runs() -> None:
    exec(compile(_block('launch_endpoint('), 'endpoints.md', 'exec'), {})


def test_storage_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    exec(compile(_block('SQLiteStorage('), 'endpoints.md', 'exec'), {})
    assert 'exceeds the endpoint' in capsys.readouterr().out


@pytest.mark.timeout(120)
def test_client_example_runs(tmp_path: pathlib.Path) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(_block('def round_trip'), 'endpoints.md', 'exec'), namespace)
    with endpoint_process(str(tmp_path), 'docs', token='docs') as config:
        namespace['round_trip'](config.local_url(), 'docs')


def test_config_example_is_valid() -> None:
    data = tomllib.loads(_block('[relay.auth.kwargs]', 'toml'))
    config = EndpointConfig.model_validate(data, strict=True)
    uuid.UUID(config.uuid, version=4)
    assert config.relay.auth.method == 'globus'
