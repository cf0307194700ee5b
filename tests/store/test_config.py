from __future__ import annotations

import pathlib
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pydantic
import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.registry import register_connector
from proxystore.serialize import deserialize
from proxystore.serialize import serialize
from proxystore.store import Store
from proxystore.store import get_store
from proxystore.store.config import ConnectorConfig
from proxystore.store.config import StoreConfig
from proxystore.store.config import connector_kind
from proxystore.store.config import import_from_path
from proxystore.store.config import object_path


def upper_serializer(obj: str) -> bytes:
    return obj.upper().encode()


def lower_deserializer(data: bytes) -> str:
    return bytes(data).decode().lower()


def read_with_toml_config(path: str, key: Any) -> Any:
    """Run in a spawned process: rebuild the store from TOML and get."""
    config = StoreConfig.from_toml(path)
    store = Store.from_config(config)
    return store.get(key)


@pytest.mark.parametrize(
    ('kind', 'connector_type'),
    [
        ('local', LocalConnector),
        ('LOCAL', LocalConnector),
        ('file', FileConnector),
        ('FileConnector', FileConnector),
        ('localconnector', LocalConnector),
        ('proxystore.connectors.file.FileConnector', FileConnector),
    ],
)
def test_connector_kinds(kind: str, connector_type: type[Any]) -> None:
    config = ConnectorConfig(kind=kind)
    assert config.get_connector_type() is connector_type


def test_get_connector(tmp_path: pathlib.Path) -> None:
    config = ConnectorConfig(
        kind='file',
        options={'store_dir': str(tmp_path / 'store')},
    )
    with config.get_connector() as connector:
        assert isinstance(connector, FileConnector)
        assert connector.config()['store_dir'] == str(tmp_path / 'store')


def test_connector_kind_of_type() -> None:
    assert connector_kind(FileConnector) == (
        'proxystore.connectors.file.FileConnector'
    )
    assert connector_kind(LocalConnector) == (
        'proxystore.connectors.local.LocalConnector'
    )
    assert connector_kind(dict) == 'builtins.dict'


def test_store_config_writes_full_class_path(
    tmp_path: pathlib.Path,
    store_name: str,
) -> None:
    with Store(store_name, LocalConnector()) as store:
        assert store.config().connector.kind == (
            'proxystore.connectors.local.LocalConnector'
        )
    with Store(store_name, FileConnector(str(tmp_path / 's'))) as store:
        config = store.config()
        assert config.connector.kind == (
            'proxystore.connectors.file.FileConnector'
        )
        path = tmp_path / 'store.toml'
        config.write_toml(path)
        assert 'proxystore.connectors.file.FileConnector' in path.read_text()


@pytest.mark.parametrize(
    ('kind', 'message'),
    [
        ('fiel', 'Unknown connector type "fiel"'),
        ('nomodule.Connector', 'Unknown connector type "nomodule.Connector"'),
        ('proxystore.connectors.file.NoSuch', 'NoSuch'),
        ('proxystore.store.config.import_from_path', 'not a class'),
    ],
)
def test_bad_connector_kind_builds_then_fails_clearly(
    kind: str,
    message: str,
) -> None:
    # Any kind is accepted when the config is built (as in ProxyStore).
    config = ConnectorConfig(kind=kind, options={'a': 1})
    assert config.kind == kind
    with pytest.raises(ValueError, match=message):
        config.get_connector_type()
    with pytest.raises(ValueError, match=message):
        config.get_connector()
    assert config.options == {'a': 1}


def test_missing_dependency_names_kind_and_install_hint() -> None:
    kind = 'h2storetestkind'
    register_connector(
        kind,
        'no_such_package_h2.module.SomeConnector',
        extra='h2extra',
    )
    config = StoreConfig(
        name='x',
        connector=ConnectorConfig(kind=kind.upper()),
    )
    with pytest.raises(ValueError, match=kind.upper()) as info:
        Store.from_config(config)
    assert "pip install 'proxystore[h2extra]'" in str(info.value)


def test_unknown_kind_in_toml_is_clear(tmp_path: pathlib.Path) -> None:
    path = tmp_path / 'store.toml'
    path.write_text('name = "x"\n[connector]\nkind = "nope"\n')
    config = StoreConfig.from_toml(path)
    assert config.connector.kind == 'nope'
    with pytest.raises(ValueError, match='Unknown connector type "nope"'):
        Store.from_config(config)
    assert get_store('x') is None


def test_store_config_defaults_and_validation() -> None:
    config = StoreConfig(name='x', connector=ConnectorConfig(kind='local'))
    assert config.serializer is None
    assert config.deserializer is None
    assert config.cache_size == 16
    assert not config.metrics
    assert config.populate_target
    assert not config.auto_register
    with pytest.raises(pydantic.ValidationError):
        StoreConfig(
            name='x',
            connector=ConnectorConfig(kind='local'),
            cache_size=-1,
        )
    with pytest.raises(pydantic.ValidationError):
        StoreConfig(
            name='x',
            connector=ConnectorConfig(kind='local'),
            unknown_field=1,
        )


def test_serializer_given_as_import_path() -> None:
    config = StoreConfig(
        name='x',
        connector=ConnectorConfig(kind='local'),
        serializer='proxystore.serialize.serialize',
        deserializer='proxystore.serialize.deserialize',
    )
    assert config.serializer is serialize
    assert config.deserializer is deserialize


def test_toml_round_trip(tmp_path: pathlib.Path) -> None:
    config = StoreConfig(
        name='example',
        connector=ConnectorConfig(
            kind='file',
            options={'store_dir': str(tmp_path / 'store'), 'ignored': None},
        ),
        serializer=upper_serializer,
        deserializer=lower_deserializer,
        cache_size=0,
        metrics=True,
        populate_target=False,
        auto_register=True,
    )
    # Missing parent directories are created.
    path = tmp_path / 'new' / 'dir' / 'store.toml'
    config.write_toml(path)
    text = path.read_text()
    assert 'tests.store.test_config.upper_serializer' in text
    assert 'ignored' not in text  # TOML has no null.
    loaded = StoreConfig.from_toml(str(path))
    expected = config.model_copy(
        update={
            'connector': ConnectorConfig(
                kind='file',
                options={'store_dir': str(tmp_path / 'store')},
            ),
        },
    )
    assert loaded == expected


def test_toml_rejects_unimportable_serializer(tmp_path: pathlib.Path) -> None:
    config = StoreConfig(
        name='x',
        connector=ConnectorConfig(kind='local'),
        serializer=lambda obj: b'',
    )
    path = tmp_path / 'store.toml'
    with pytest.raises(ValueError, match='not importable'):
        config.write_toml(path)
    assert not path.exists()


def test_toml_round_trip_across_processes(
    tmp_path: pathlib.Path,
    store_name: str,
    spawn_pool: ProcessPoolExecutor,
) -> None:
    connector = FileConnector(str(tmp_path / 'store'))
    with Store(store_name, connector) as store:
        keys = [store.put({'value': i}) for i in range(3)]
        path = tmp_path / 'store.toml'
        store.config().write_toml(path)
        results = [
            spawn_pool.submit(read_with_toml_config, str(path), key).result()
            for key in keys
        ]
    assert results == [{'value': i} for i in range(3)]


def test_pickled_config_is_compact_and_equal(tmp_path: pathlib.Path) -> None:
    config = StoreConfig(
        name='x',
        connector=ConnectorConfig(
            kind='file',
            options={'store_dir': str(tmp_path)},
        ),
        cache_size=4,
    )
    restored = pickle.loads(pickle.dumps(config))
    assert restored == config
    assert restored.cache_size == 4
    assert b'populate_target' not in pickle.dumps(config)


def test_import_helpers() -> None:
    assert import_from_path('proxystore.store.config.StoreConfig') is (
        StoreConfig
    )
    assert import_from_path('proxystore.store.config.StoreConfig.from_toml')
    with pytest.raises(ImportError):
        import_from_path('proxystore.store.config.Missing')
    with pytest.raises(ImportError):
        import_from_path('no_such_module_anywhere.thing')
    assert object_path(serialize) == 'proxystore.serialize.serialize'
    with pytest.raises(ValueError, match='not importable'):
        object_path(lambda: None)
