"""A third-party connector runs the shipped suite from its own tests."""

from __future__ import annotations

import pathlib
import subprocess
import sys
import textwrap

import pytest

_CONNECTOR = '''
import uuid
from typing import Any, NamedTuple

import pytest

from proxystore.testing.connectors import ConnectorSuite


class DictKey(NamedTuple):
    name: str


class DictConnector:
    """A third-party connector: objects in a module-level dict."""

    config_reaches_data = False  # another process has another dict
    data: dict[DictKey, bytes] = {}

    def __enter__(self) -> 'DictConnector':
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def close(self) -> None:
        pass

    def config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> 'DictConnector':
        return cls()

    def evict(self, key: DictKey) -> None:
        self.data.pop(key, None)

    def exists(self, key: DictKey) -> bool:
        return key in self.data

    def get(self, key: DictKey) -> bytes | None:
        return self.data.get(key)

    def get_batch(self, keys):
        return [self.get(key) for key in keys]

    def put(self, obj) -> DictKey:
        key = DictKey(str(uuid.uuid4()))
        self.data[key] = BROKEN(obj)
        return key

    def put_batch(self, objs):
        return [self.put(obj) for obj in objs]


class TestDictConnector(ConnectorSuite):
    @pytest.fixture
    def connector(self):
        with DictConnector() as connector:
            yield connector
'''


def _run_suite(tmp_path: pathlib.Path, broken: str) -> str:
    source = textwrap.dedent(_CONNECTOR).replace('BROKEN', broken)
    (tmp_path / 'test_dict_connector.py').write_text(source)
    result = subprocess.run(
        [
            sys.executable,
            '-m',
            'pytest',
            '-q',
            '-p',
            'no:cacheprovider',
            '--rootdir',
            str(tmp_path),
            '-c',
            '/dev/null',
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    return result.stdout


@pytest.mark.timeout(180)
def test_a_correct_connector_passes(tmp_path: pathlib.Path) -> None:
    out = _run_suite(tmp_path, 'bytes')
    assert ' failed' not in out, out
    assert ' passed' in out, out
    # Flags: no buffer lists, config without data, not deferrable.
    assert 'skipped' in out, out


@pytest.mark.timeout(180)
def test_a_connector_that_aliases_its_input_fails(
    tmp_path: pathlib.Path,
) -> None:
    # Storing the caller's buffer itself: later writes change the object.
    out = _run_suite(tmp_path, '')
    assert 'test_writable_input_changed_after_put' in out, out
    assert ' failed' in out, out
