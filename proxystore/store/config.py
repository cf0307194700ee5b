"""Store and connector configurations.

A [`StoreConfig`][proxystore.store.config.StoreConfig] holds everything
needed to rebuild a [`Store`][proxystore.store.base.Store] in another
process: proxies carry it, and it can be written to and read from TOML.
"""

from __future__ import annotations

import importlib
import pathlib
import sys
from typing import Annotated
from typing import Any

import tomli_w
from pydantic import BaseModel
from pydantic import BeforeValidator
from pydantic import ConfigDict
from pydantic import Field
from pydantic import field_validator

from proxystore.connectors.protocols import Connector
from proxystore.store.types import DeserializerT
from proxystore.store.types import SerializerT

if sys.version_info >= (3, 11):  # pragma: >=3.11 cover
    import tomllib
else:  # pragma: <3.11 cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

CONNECTOR_KINDS = {
    'local': 'proxystore.connectors.local.LocalConnector',
    'file': 'proxystore.connectors.file.FileConnector',
    'redis': 'proxystore.connectors.redis.RedisConnector',
    'multi': 'proxystore.connectors.multi.MultiConnector',
    'endpoint': 'proxystore.connectors.endpoint.EndpointConnector',
    'shm': 'proxystore.connectors.shm.SharedMemoryConnector',
}
"""Short connector kinds and the connector class each one names."""

_KIND_OF_PATH = {path: kind for kind, path in CONNECTOR_KINDS.items()}


def import_from_path(path: str) -> Any:
    """Import the object named by a dotted path (`package.module.Name`).

    Nested attributes (`package.module.Class.method`) are supported.

    Raises:
        ImportError: If no prefix of the path is an importable module or
            the remaining attributes do not exist.
    """
    parts = path.split('.')
    for split in range(len(parts) - 1, 0, -1):
        module_name = '.'.join(parts[:split])
        try:
            obj: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            # Only "this prefix is not a module" means: try a shorter one.
            if e.name is not None and module_name.startswith(e.name):
                continue
            raise
        try:
            for attr in parts[split:]:
                obj = getattr(obj, attr)
        except AttributeError as e:
            raise ImportError(
                f'Module {module_name!r} has no attribute path '
                f'{".".join(parts[split:])!r}.',
            ) from e
        return obj
    raise ImportError(f'Cannot import {path!r}: no such module.')


def object_path(obj: Any) -> str:
    """Return the dotted import path of a class or function.

    Raises:
        ValueError: If importing the path does not give back `obj` (e.g.,
            lambdas and functions defined inside other functions).
    """
    module = getattr(obj, '__module__', None)
    qualname = getattr(obj, '__qualname__', None)
    path = f'{module}.{qualname}'
    try:
        found = import_from_path(path) if module and qualname else None
    except ImportError:
        found = None
    if found is not obj:
        raise ValueError(
            f'{obj!r} is not importable by name; only module-level '
            f'classes and functions can be referred to by a dotted path.',
        )
    return path


def connector_kind(connector_type: type[Any]) -> str:
    """Return the `kind` naming a connector class.

    This is the short name for the built-in connectors (e.g., `'file'`)
    and the dotted import path for any other class.
    """
    path = f'{connector_type.__module__}.{connector_type.__qualname__}'
    return _KIND_OF_PATH.get(path, path)


def _connector_path(kind: str) -> str:
    if '.' in kind:
        return kind
    try:
        return CONNECTOR_KINDS[kind]
    except KeyError:
        raise ValueError(
            f'Unknown connector kind {kind!r}. Use one of '
            f'{", ".join(map(repr, CONNECTOR_KINDS))} or the dotted import '
            f'path of a connector class (e.g., "mypackage.MyConnector").',
        ) from None


def _resolve_connector_type(kind: str) -> type[Connector[Any]]:
    path = _connector_path(kind)
    try:
        connector_type = import_from_path(path)
    except ImportError as e:
        raise ValueError(
            f'Cannot import the connector class of kind {kind!r} '
            f'({path!r}): {e}',
        ) from e
    if not isinstance(connector_type, type):
        raise ValueError(
            f'Connector kind {kind!r} names {connector_type!r}, which is '
            'not a class.',
        )
    return connector_type


def _import_if_path(value: Any) -> Any:
    return import_from_path(value) if isinstance(value, str) else value


class ConnectorConfig(BaseModel):
    """Connector configuration.

    Attributes:
        kind: Short name of a built-in connector (`local`, `file`, `redis`,
            `multi`, `endpoint`) or the dotted import path of any connector
            class.
        options: Keyword arguments of the connector's `from_config()`
            (the dictionary its `config()` returns).
    """

    model_config = ConfigDict(extra='forbid')

    kind: str
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator('kind')
    @classmethod
    def _check_kind(cls, kind: str) -> str:
        _resolve_connector_type(kind)
        return kind

    def get_connector_type(self) -> type[Connector[Any]]:
        """Import and return the connector class named by `kind`.

        Raises:
            ValueError: If `kind` is unknown, cannot be imported, or is not
                a class.
        """
        return _resolve_connector_type(self.kind)

    def get_connector(self) -> Connector[Any]:
        """Create a connector instance from this configuration."""
        return self.get_connector_type().from_config(dict(self.options))


_Serializer = Annotated[
    SerializerT | None,
    BeforeValidator(_import_if_path),
]
_Deserializer = Annotated[
    DeserializerT | None,
    BeforeValidator(_import_if_path),
]


class StoreConfig(BaseModel):
    """Store configuration.

    See the [`Store`][proxystore.store.base.Store] parameters for the
    meaning of each option. In TOML files, `serializer` and `deserializer`
    are dotted import paths of module-level functions.

    Attributes:
        name: Store name.
        connector: Connector configuration.
        serializer: Optional serializer.
        deserializer: Optional deserializer.
        cache_size: Cache size (number of objects; `0` disables it).
        metrics: Enable recording operation metrics.
        populate_target: Default of the `populate_target` parameter of the
            proxy methods.
        auto_register: Register the store when it is created from this
            configuration.
    """

    model_config = ConfigDict(extra='forbid')

    name: str
    connector: ConnectorConfig
    serializer: _Serializer = None
    deserializer: _Deserializer = None
    cache_size: int = Field(default=16, ge=0)
    metrics: bool = False
    populate_target: bool = True
    auto_register: bool = False

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_store_config, self._compact_state())

    def _compact_state(
        self,
    ) -> tuple[str, str, dict[str, Any], dict[str, Any]]:
        """Return the smallest picklable state that rebuilds the config.

        Proxies carry their store's configuration, so only the fields that
        differ from their defaults are kept.
        """
        extras = {
            field: getattr(self, field)
            for field, default in _OPTIONAL_DEFAULTS.items()
            if getattr(self, field) != default
        }
        return (self.name, self.connector.kind, self.connector.options, extras)

    @classmethod
    def from_toml(cls, filepath: str | pathlib.Path) -> StoreConfig:
        """Read a configuration from a TOML file.

        Example:
            ```python
            config = StoreConfig.from_toml('store.toml')
            store = Store.from_config(config)
            ```

        Args:
            filepath: Path of the TOML file.

        Returns:
            The configuration.
        """
        with open(filepath, 'rb') as f:
            return cls.model_validate(tomllib.load(f))

    def write_toml(self, filepath: str | pathlib.Path) -> None:
        """Write the configuration to a TOML file.

        TOML has no null value: options whose value is `None` are left out
        (they fall back to the connector's defaults when read back).

        Example:
            ```python
            from proxystore.store.config import ConnectorConfig
            from proxystore.store.config import StoreConfig

            config = StoreConfig(
                name='example',
                connector=ConnectorConfig(
                    kind='file',
                    options={'store_dir': '/tmp/proxystore-cache'},
                ),
            )
            config.write_toml('config.toml')
            assert StoreConfig.from_toml('config.toml') == config
            ```

        Args:
            filepath: Path of the TOML file (overwritten if it exists).

        Raises:
            ValueError: If the serializer or deserializer is not an
                importable module-level function.
        """
        data = self.model_dump()
        for field in ('serializer', 'deserializer'):
            if data[field] is not None:
                data[field] = object_path(data[field])
        with open(filepath, 'wb') as f:
            tomli_w.dump(_drop_none(data), f)


_OPTIONAL_DEFAULTS = {
    field: info.default
    for field, info in StoreConfig.model_fields.items()
    if field not in ('name', 'connector')
}


def _rebuild_store_config(
    name: str,
    kind: str,
    options: dict[str, Any],
    extras: dict[str, Any],
) -> StoreConfig:
    """Inverse of `StoreConfig._compact_state()` (no re-validation)."""
    return StoreConfig.model_construct(
        name=name,
        connector=ConnectorConfig.model_construct(kind=kind, options=options),
        **{**_OPTIONAL_DEFAULTS, **extras},
    )


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_drop_none(v) for v in value]
    return value
