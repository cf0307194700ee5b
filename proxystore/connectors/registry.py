"""The registry of connector kinds.

A [`ConnectorConfig`][proxystore.store.config.ConnectorConfig] names its
connector by a *kind*. A kind is any of:

* a registered short name, compared case-insensitively (`'local'`,
  `'FILE'`, `'redis'`, ...);
* the class name of a registered connector, compared case-insensitively
  (`'FileConnector'`);
* the dotted import path of any connector class
  (`'proxystore.connectors.file.FileConnector'`, `'mypkg.MyConnector'`).

Resolving a kind imports the connector's module only then, so listing or
registering kinds never imports a connector or its optional dependencies.
Third-party packages can add their own short names:

```python
from proxystore.connectors.registry import register_connector

register_connector('mine', 'mypkg.connector.MyConnector', extra='mypkg')
```
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any

from proxystore.utils.imports import import_from_path

logger = logging.getLogger(__name__)

_SUFFIX = 'connector'


class ConnectorImportError(ImportError, ValueError):
    """A known connector kind whose module cannot be imported.

    This is usually a missing optional dependency; the message says which
    `pip install` fixes it. It is both an `ImportError` and a `ValueError`
    (the error ProxyStore raises for a kind it cannot resolve).
    """


@dataclasses.dataclass(frozen=True)
class _Entry:
    kind: str
    path: str
    extra: str | None

    @property
    def class_name(self) -> str:
        return self.path.rpartition('.')[2].lower()

    def install_hint(self) -> str:
        if self.extra is None:
            return ''
        if self.extra.startswith('proxystore') or '[' in self.extra:
            package = self.extra
        else:
            package = f'proxystore[{self.extra}]'
        return f" Install it with: pip install '{package}'"


_lock = threading.Lock()
_entries: dict[str, _Entry] = {}


def register_connector(
    kind: str,
    path: str,
    *,
    extra: str | None = None,
) -> None:
    """Register (or replace) a short connector kind.

    Args:
        kind: Short name (compared case-insensitively, must not contain
            a `.`).
        path: Dotted import path of the connector class. It is imported
            only when the kind is resolved.
        extra: Name of the `proxystore` extra that installs the
            connector's dependencies (`'redis'` gives the hint
            `pip install 'proxystore[redis]'`), or a full package
            requirement for third-party connectors.

    Raises:
        ValueError: If `kind` is empty or contains a `.`, or `path` is not
            a dotted path.
    """
    if len(kind) == 0 or '.' in kind:
        raise ValueError(
            f'A connector kind must be a non-empty name without dots. '
            f'Got {kind!r}.',
        )
    if '.' not in path:
        raise ValueError(
            f'The path of connector kind {kind!r} must be a dotted import '
            f'path (e.g., "mypkg.module.MyConnector"). Got {path!r}.',
        )
    with _lock:
        _entries[kind.lower()] = _Entry(kind.lower(), path, extra)
    logger.debug('Registered connector kind %r as %s', kind.lower(), path)


def connector_kinds() -> dict[str, str]:
    """Return the registered short kinds and the class path of each."""
    with _lock:
        return {kind: entry.path for kind, entry in _entries.items()}


def _find(kind: str) -> _Entry | None:
    name = kind.lower()
    with _lock:
        entries = list(_entries.values())
    for entry in entries:
        if name == entry.kind or name == entry.path.lower():
            return entry
    for entry in entries:
        class_name = entry.class_name
        if name == class_name or (
            class_name.endswith(_SUFFIX)
            and name == class_name.removesuffix(_SUFFIX)
        ):
            return entry
    return None


def _import(path: str, kind: str, entry: _Entry | None) -> Any:
    try:
        return import_from_path(path)
    except ImportError as e:
        if entry is None:
            raise
        raise ConnectorImportError(
            f'Cannot import the connector of kind "{kind}" ({path}): '
            f'{e}.{entry.install_hint()}',
            name=e.name,
        ) from e


def get_connector_type(kind: str) -> type[Any]:
    """Import and return the connector class named by a kind.

    Example:
        ```python
        >>> get_connector_type('local')
        <class 'proxystore.connectors.local.LocalConnector'>
        >>> get_connector_type('FileConnector')
        <class 'proxystore.connectors.file.FileConnector'>
        ```

    Args:
        kind: A registered short kind, the class name of a registered
            connector, or the dotted path of a connector class (see the
            module documentation).

    Returns:
        The connector class.

    Raises:
        ConnectorImportError: If the kind is known but its module cannot
            be imported (the message names the `pip install` that fixes
            it). This is both an `ImportError` and a `ValueError`.
        ValueError: If the kind is unknown or does not name a class.
    """
    entry = _find(kind)
    if entry is not None:
        obj = _import(entry.path, kind, entry)
    elif '.' in kind:
        try:
            obj = import_from_path(kind)
        except (ImportError, AttributeError) as e:
            raise ValueError(
                f'Unknown connector type "{kind}": cannot import it ({e}).',
            ) from e
    else:
        known = ', '.join(sorted(connector_kinds()))
        raise ValueError(
            f'Unknown connector type "{kind}". Use one of {known}, a '
            'connector class name (e.g., "FileConnector") or the dotted '
            'import path of a connector class (e.g., '
            '"mypkg.module.MyConnector").',
        )
    if not isinstance(obj, type):
        raise ValueError(
            f'Connector type "{kind}" names {obj!r}, which is not a class.',
        )
    return obj


def _register_builtins() -> None:
    builtins: tuple[tuple[str, str, str | None], ...] = (
        ('local', 'proxystore.connectors.local.LocalConnector', None),
        ('file', 'proxystore.connectors.file.FileConnector', None),
        ('redis', 'proxystore.connectors.redis.RedisConnector', 'redis'),
        ('multi', 'proxystore.connectors.multi.MultiConnector', None),
        ('shm', 'proxystore.connectors.shm.SharedMemoryConnector', None),
        (
            'endpoint',
            'proxystore.connectors.endpoint.EndpointConnector',
            'endpoints',
        ),
        ('globus', 'proxystore.connectors.globus.GlobusConnector', 'globus'),
    )
    for kind, path, extra in builtins:
        register_connector(kind, path, extra=extra)


_register_builtins()
