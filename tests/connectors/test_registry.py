from __future__ import annotations

import subprocess
import sys

import pytest

from proxystore.connectors import registry
from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.multi import MultiConnector
from proxystore.connectors.redis import RedisConnector
from proxystore.connectors.registry import ConnectorImportError
from proxystore.connectors.registry import connector_kinds
from proxystore.connectors.registry import get_connector_type
from proxystore.connectors.registry import register_connector
from proxystore.connectors.shm import SharedMemoryConnector


@pytest.fixture
def restore_registry() -> object:
    saved = dict(registry._entries)
    yield None
    registry._entries.clear()
    registry._entries.update(saved)


def test_builtin_kinds() -> None:
    kinds = connector_kinds()
    assert kinds['local'] == 'proxystore.connectors.local.LocalConnector'
    assert kinds['globus'] == 'proxystore.connectors.globus.GlobusConnector'
    assert {'local', 'file', 'redis', 'multi', 'shm', 'endpoint'} <= set(
        kinds,
    )
    # A copy: changing it changes nothing.
    kinds.clear()
    assert connector_kinds()


@pytest.mark.parametrize(
    ('kind', 'expected'),
    [
        ('local', LocalConnector),
        ('LOCAL', LocalConnector),
        ('file', FileConnector),
        ('File', FileConnector),
        ('FileConnector', FileConnector),
        ('localconnector', LocalConnector),
        ('redis', RedisConnector),
        ('multi', MultiConnector),
        ('shm', SharedMemoryConnector),
        ('SharedMemoryConnector', SharedMemoryConnector),
        ('proxystore.connectors.file.FileConnector', FileConnector),
        ('proxystore.connectors.local.LocalConnector', LocalConnector),
    ],
)
def test_get_connector_type(kind: str, expected: type) -> None:
    assert get_connector_type(kind) is expected


def test_endpoint_kind() -> None:
    from proxystore.connectors.endpoint import EndpointConnector

    assert get_connector_type('endpoint') is EndpointConnector
    assert get_connector_type('EndpointConnector') is EndpointConnector


def test_any_dotted_path_to_a_class() -> None:
    assert get_connector_type(f'{__name__}.ThirdParty') is ThirdParty


class ThirdParty:
    pass


def test_unknown_short_kind() -> None:
    with pytest.raises(ValueError, match='Unknown connector type "nope"'):
        get_connector_type('nope')


def test_unknown_dotted_path() -> None:
    with pytest.raises(ValueError, match='"no_such_pkg.Thing"'):
        get_connector_type('no_such_pkg.Thing')
    with pytest.raises(ValueError, match='has no attribute'):
        get_connector_type('proxystore.connectors.local.Missing')


def test_not_a_class() -> None:
    with pytest.raises(ValueError, match='not a class'):
        get_connector_type('proxystore.connectors.registry.connector_kinds')


def test_known_kind_with_missing_dependency_names_the_install() -> None:
    # proxystore.connectors.globus is not part of this distribution yet,
    # or needs its optional dependencies: either way the kind is known.
    try:
        import proxystore.connectors.globus  # noqa: F401
    except ImportError:
        pass
    else:  # pragma: no cover
        pytest.skip('the globus connector imports here')
    with pytest.raises(ConnectorImportError) as info:
        get_connector_type('globus')
    assert isinstance(info.value, ImportError)
    assert isinstance(info.value, ValueError)
    assert '"globus"' in str(info.value)
    assert "pip install 'proxystore[globus]'" in str(info.value)


def test_register_third_party_kind(restore_registry: object) -> None:
    register_connector('Mine', f'{__name__}.ThirdParty', extra='mine-pkg')
    assert get_connector_type('mine') is ThirdParty
    assert get_connector_type('MINE') is ThirdParty
    assert get_connector_type('ThirdParty') is ThirdParty
    assert connector_kinds()['mine'] == f'{__name__}.ThirdParty'


def test_register_missing_module_hint(restore_registry: object) -> None:
    register_connector('gone', 'no_such_pkg.GoneConnector', extra='gone')
    with pytest.raises(ConnectorImportError) as info:
        get_connector_type('gone')
    assert "pip install 'proxystore[gone]'" in str(info.value)
    register_connector('gone', 'no_such_pkg.GoneConnector', extra='gone-ex')
    with pytest.raises(ConnectorImportError, match="'proxystore\\[gone-ex"):
        get_connector_type('GoneConnector')
    register_connector(
        'gone',
        'no_such_pkg.GoneConnector',
        extra='proxystore-gone',
    )
    with pytest.raises(ImportError, match="pip install 'proxystore-gone'"):
        get_connector_type('gone')


@pytest.mark.parametrize('kind', ['', 'a.b'])
def test_register_bad_kind(kind: str, restore_registry: object) -> None:
    before = connector_kinds()
    with pytest.raises(ValueError, match='kind'):
        register_connector(kind, 'pkg.Conn')
    assert connector_kinds() == before


def test_register_bad_path(restore_registry: object) -> None:
    before = connector_kinds()
    with pytest.raises(ValueError, match='dotted import path'):
        register_connector('x', 'NoDots')
    assert connector_kinds() == before


@pytest.mark.timeout(60)
def test_registry_imports_no_connector() -> None:
    code = (
        'import sys\n'
        'from proxystore.connectors.registry import connector_kinds\n'
        'connector_kinds()\n'
        'loaded = [m for m in sys.modules if m.startswith("proxystore.")]\n'
        'print(sorted(loaded))\n'
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert 'proxystore.connectors.local' not in out
    assert 'proxystore.serialize' not in out
    assert 'proxystore.store' not in out


@pytest.mark.timeout(60)
def test_missing_optional_dependency_names_the_extra() -> None:
    # A fresh interpreter in which redis-py cannot be imported.
    code = (
        'import sys\n'
        'sys.modules["redis"] = None\n'
        'from proxystore.store.config import ConnectorConfig\n'
        'config = ConnectorConfig(kind="redis", options={})\n'
        'try:\n'
        '    config.get_connector()\n'
        'except ValueError as e:\n'
        '    print(type(e).__name__, e)\n'
    )
    out = subprocess.run(
        [sys.executable, '-c', code],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.startswith('ConnectorImportError')
    assert '"redis"' in out
    assert "pip install 'proxystore[redis]'" in out
