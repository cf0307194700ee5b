"""What a stream event may name: checked before anything is imported.

Events name classes and functions by dotted path: the class of an
object's key, the connector kind of the store holding it and the store's
custom serializer. A consumer imports them to fetch the object, so an
event from a hostile broker or producer could otherwise make it import any
module (running that module's import-time code). Every name is therefore
checked against an allow-list **before** any import:

- connector kinds: the kinds registered with
  [`register_connector()`][proxystore.connectors.registry.register_connector]
  (by short name, class name or dotted path), also for the children of a
  [`MultiConnector`][proxystore.connectors.multi.MultiConnector];
- key classes: named tuples defined in the module of a registered
  connector class (where connectors define their keys);
- serializers and deserializers: ProxyStore's own, and the functions
  given to
  [`allow_serializer()`][proxystore.stream.allowlist.allow_serializer].
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from proxystore.connectors.registry import connector_kinds
from proxystore.store.config import object_path
from proxystore.stream.exceptions import EventDecodeError
from proxystore.utils.imports import import_from_path

logger = logging.getLogger(__name__)

_MULTI_PATH = 'proxystore.connectors.multi.MultiConnector'

_lock = threading.Lock()
_serializers: set[str] = {
    'proxystore.serialize.serialize',
    'proxystore.serialize.deserialize',
}


def allow_serializer(*functions: Callable[..., Any]) -> None:
    """Let stream events name these serializers or deserializers.

    Call it in the consumer's process for the custom serializers of the
    stores a stream uses (the producer needs no call). The functions must
    be importable module-level functions.

    Raises:
        ValueError: If a function cannot be imported by its dotted path.
    """
    for function in functions:
        path = object_path(function)
        with _lock:
            _serializers.add(path)
        logger.debug('Stream events may name the serializer %s', path)


def registered_connector_path(kind: str) -> str | None:
    """Return the class path of a registered kind, without importing it.

    `kind` is matched case-insensitively against the registered short
    names, class paths and class names (with or without the `Connector`
    suffix). Returns `None` if no registered connector matches.
    """
    name = kind.lower()
    for short, path in connector_kinds().items():
        class_name = path.rpartition('.')[2].lower()
        if name in (short, path.lower(), class_name) or (
            class_name.endswith('connector')
            and name == class_name.removesuffix('connector')
        ):
            return path
    return None


def check_connector(kind: Any, options: Any) -> None:
    """Check that a connector configuration names registered kinds only.

    The children of a `MultiConnector` are checked too.

    Raises:
        EventDecodeError: If a kind is not a registered connector kind.
    """
    if not isinstance(kind, str):
        raise EventDecodeError(
            f'The connector kind of a stream event must be a string, got '
            f'{kind!r:.100}.',
        )
    path = registered_connector_path(kind)
    if path is None:
        raise EventDecodeError(
            f'Stream event names connector kind {kind!r:.200}, which is not '
            'a registered connector kind (see proxystore.connectors.'
            'registry.register_connector); nothing was imported.',
        )
    if path != _MULTI_PATH:
        return
    if not isinstance(options, dict):
        raise EventDecodeError(
            'The MultiConnector options of a stream event must be a mapping.',
        )
    children = options.get('connectors', options)
    if not isinstance(children, dict):
        children = options
    for child in children.values():
        if isinstance(child, (list, tuple)) and len(child) == 3:  # noqa: PLR2004
            check_connector(child[0], child[1])
        elif isinstance(child, dict):
            check_connector(child.get('kind'), child.get('options'))
        else:
            raise EventDecodeError(
                f'Invalid MultiConnector child in a stream event: '
                f'{child!r:.200}',
            )


def check_key_type(path: Any) -> type[tuple[Any, ...]]:
    """Import and return a key class named by an event, if it is allowed.

    The class must be defined directly in the module of a registered
    connector class; the check happens before the module is imported.

    Raises:
        EventDecodeError: If the path is not allowed, cannot be imported,
            or is not a named tuple class.
    """
    if not isinstance(path, str):
        raise EventDecodeError(
            f'The key type of a stream event must be a string, got '
            f'{path!r:.100}.',
        )
    module, _, name = path.rpartition('.')
    allowed = {c.rpartition('.')[0] for c in connector_kinds().values()}
    if module not in allowed or not name.isidentifier():
        raise EventDecodeError(
            f'Stream event names key type {path!r:.200}, which is not a '
            'class of a registered connector module; nothing was imported.',
        )
    try:
        key_type = import_from_path(path)
    except (ImportError, AttributeError) as e:
        raise EventDecodeError(f'Unknown key type {path!r}: {e}') from e
    if not (
        isinstance(key_type, type)
        and issubclass(key_type, tuple)
        and hasattr(key_type, '_fields')
        and key_type.__module__ == module
    ):
        raise EventDecodeError(
            f'Key type {path!r} is not a named tuple class defined in '
            f'{module!r}.',
        )
    return key_type


def check_serializer(path: Any, field: str) -> None:
    """Check that an event's serializer or deserializer path is allowed.

    Raises:
        EventDecodeError: If `path` is not an allowed function path.
    """
    with _lock:
        allowed = path in _serializers
    if not allowed:
        raise EventDecodeError(
            f'Stream event names {field} {path!r:.200}, which is not '
            'allowed; call proxystore.stream.allowlist.allow_serializer() '
            'with it in this process first. Nothing was imported.',
        )
