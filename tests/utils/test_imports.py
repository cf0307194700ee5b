from __future__ import annotations

import pytest

from proxystore.connectors.local import LocalConnector
from proxystore.utils.imports import get_object_path
from proxystore.utils.imports import import_from_path


class Outer:
    class Inner:
        pass


def test_get_object_path() -> None:
    assert (
        get_object_path(LocalConnector)
        == 'proxystore.connectors.local.LocalConnector'
    )
    assert get_object_path(Outer.Inner) == f'{__name__}.Outer.Inner'

    # No checks: a local function gets its (unimportable) qualname.
    def local() -> None:
        pass

    assert get_object_path(local).endswith(
        'test_get_object_path.<locals>.local'
    )


def test_import_from_path_round_trip() -> None:
    path = get_object_path(LocalConnector)
    assert import_from_path(path) is LocalConnector
    assert import_from_path('os.path.join') is __import__('os').path.join


def test_import_from_path_nested_attribute() -> None:
    assert import_from_path(f'{__name__}.Outer.Inner') is Outer.Inner
    assert (
        import_from_path('proxystore.connectors.local.LocalConnector.put')
        is LocalConnector.put
    )


def test_import_from_path_needs_a_module() -> None:
    with pytest.raises(
        ImportError,
        match='Object path must contain at least one module. Got Name',
    ):
        import_from_path('Name')


def test_import_from_path_missing_module() -> None:
    with pytest.raises(ModuleNotFoundError):
        import_from_path('no_such_module_xyz.Thing')


def test_import_from_path_missing_attribute() -> None:
    with pytest.raises(AttributeError, match='NoSuchThing'):
        import_from_path('proxystore.connectors.local.NoSuchThing')
