"""Store and connector configurations.

A [`StoreConfig`][proxystore.store.config.StoreConfig] holds everything
needed to rebuild a [`Store`][proxystore.store.base.Store] in another
process: proxies carry it, and it can be written to and read from TOML.
"""

from __future__ import annotations

import pathlib
import sys
from typing import Annotated
from typing import Any

import tomli_w
from pydantic import BaseModel
from pydantic import BeforeValidator
from pydantic import ConfigDict
from pydantic import Field

from proxystore.connectors.protocols import Connector
from proxystore.connectors.registry import connector_kinds
from proxystore.connectors.registry import get_connector_type
from proxystore.store.types import DeserializerT
from proxystore.store.types import SerializerT
from proxystore.utils.imports import get_object_path
from proxystore.utils.imports import import_from_path as _import_from_path

if sys.version_info >= (3, 11):  # pragma: >=3.11 cover
    import tomllib
else:  # pragma: <3.11 cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]


def import_from_path(path: str) -> Any:
    """Import the object named by a dotted path (`package.module.Name`).

    Nested attributes (`package.module.Class.method`) are supported. Like
    [`proxystore.utils.imports.import_from_path()`][proxystore.utils.imports.import_from_path],
    except that a missing attribute is an `ImportError` too.

    Raises:
        ImportError: If the path has no module part, the module cannot be
            imported, or the attribute does not exist.
    """
    try:
        return _import_from_path(path)
    except AttributeError as e:
        raise ImportError(f'Cannot import {path!r}: {e}') from e


def object_path(obj: Any) -> str:
    """Return the dotted import path of a class or function.

    Raises:
        ValueError: If importing the path does not give back `obj` (e.g.,
            lambdas and functions defined inside other functions).
    """
    try:
        path = get_object_path(obj)
        found = import_from_path(path)
    except (AttributeError, ImportError):
        found = None
    if found is not obj:
        raise ValueError(
            f'{obj!r} is not importable by name; only module-level '
            f'classes and functions can be referred to by a dotted path.',
        )
    return path


def connector_kind(connector_type: type[Any]) -> str:
    """Return the `kind` naming a connector class: its full dotted path.

    This is what [`Store.config()`][proxystore.store.base.Store.config]
    writes, e.g., `'proxystore.connectors.local.LocalConnector'`.
    """
    return get_object_path(connector_type)


def _import_if_path(value: Any) -> Any:
    return import_from_path(value) if isinstance(value, str) else value


class ConnectorConfig(BaseModel):
    """Connector configuration.

    Any `kind` is accepted when the configuration is built; it is resolved
    (and an unknown kind refused) only when the connector class is needed
    ([`get_connector_type()`][proxystore.store.config.ConnectorConfig.get_connector_type]).

    Attributes:
        kind: A connector kind (see
            [`proxystore.connectors.registry`][proxystore.connectors.registry]):
            a short name such as `local`, `file`, `redis`, `multi` or
            `endpoint` (case-insensitive), a connector class name such as
            `FileConnector`, or the dotted import path of any connector
            class.
        options: Keyword arguments of the connector's `from_config()`
            (the dictionary its `config()` returns).
    """

    model_config = ConfigDict(extra='forbid')

    kind: str
    options: dict[str, Any] = Field(default_factory=dict)

    def get_connector_type(self) -> type[Connector[Any]]:
        """Import and return the connector class named by `kind`.

        Raises:
            ValueError: If `kind` is unknown, cannot be imported (the
                message says which `pip install` fixes it), or is not a
                class. The message names the kind.
        """
        return get_connector_type(self.kind)

    def get_connector(self) -> Connector[Any]:
        """Create a connector instance from this configuration.

        Raises:
            ValueError: If `kind` cannot be resolved (see
                `get_connector_type()`).
            TypeError: If `options` has an argument the connector does not
                take.
        """
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
        kind = self.connector.kind
        short = _ABBREVIATION.get(kind)
        if short is not None:
            kind = _MARK + short
        return (self.name, kind, self.connector.options, extras)

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
            filepath: Path of the TOML file (overwritten if it exists;
                missing parent directories are created).

        Raises:
            ValueError: If the serializer or deserializer is not an
                importable module-level function.
        """
        data = self.model_dump()
        path = pathlib.Path(filepath)
        for field in ('serializer', 'deserializer'):
            if data[field] is not None:
                data[field] = object_path(data[field])
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, 'wb') as f:
            tomli_w.dump(_drop_none(data), f)


_OPTIONAL_DEFAULTS = {
    field: info.default
    for field, info in StoreConfig.model_fields.items()
    if field not in ('name', 'connector')
}


# Pickles abbreviate the dotted paths of the built-in connectors to their
# short kinds (the same in every process: registered at import).
_MARK = '~'
_EXPANSION = {
    kind: path
    for kind, path in connector_kinds().items()
    if path.startswith('proxystore.connectors.')
}
_ABBREVIATION = {path: kind for kind, path in _EXPANSION.items()}


def _rebuild_store_config(
    name: str,
    kind: str,
    options: dict[str, Any],
    extras: dict[str, Any],
) -> StoreConfig:
    """Inverse of `StoreConfig._compact_state()` (no re-validation)."""
    if kind.startswith(_MARK):
        kind = _EXPANSION[kind[len(_MARK) :]]
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
