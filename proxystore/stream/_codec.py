"""Values of stream events as JSON, with tags for non-JSON types.

JSON values (`None`, `bool`, `int`, `str`, finite `float`, `list`, `dict`
with `str` keys) are written as they are. Other supported values become a
tagged object `{"$ps": <tag>, "v": ...}`: `tuple`, `bytes`/`bytearray`,
`set`, `frozenset`, non-finite `float`, `dict` with non-`str` keys (or a
`"$ps"` key), and named tuples whose class passes
[`check_key_type()`][proxystore.stream.allowlist.check_key_type] (keys of
registered connectors). Decoding never imports anything else and never
unpickles.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any

from proxystore.stream.allowlist import check_key_type
from proxystore.stream.exceptions import EventDecodeError
from proxystore.stream.exceptions import EventEncodeError
from proxystore.utils.imports import get_object_path

TAG = '$ps'
_SCALARS = (str, int, bool, type(None))


def encode_value(value: Any, what: str) -> Any:
    """Convert a value to a JSON value (tagging non-JSON parts).

    Args:
        value: Value to convert.
        what: What the value is, for error messages (e.g., `'metadata'`).

    Raises:
        EventEncodeError: If a part of the value has an unsupported type.
    """
    if isinstance(value, _SCALARS):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return {TAG: 'float', 'v': repr(value)}
    if isinstance(value, list):
        return [encode_value(v, what) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value) and TAG not in value:
            return {k: encode_value(v, what) for k, v in value.items()}
        return {
            TAG: 'dict',
            'v': [
                [encode_value(k, what), encode_value(v, what)]
                for k, v in value.items()
            ],
        }
    if isinstance(value, tuple):
        items = [encode_value(v, what) for v in value]
        if not hasattr(type(value), '_fields'):
            return {TAG: 'tuple', 'v': items}
        path = get_object_path(type(value))
        try:
            allowed = check_key_type(path) is type(value)
        except EventDecodeError:
            allowed = False
        if not allowed:
            raise EventEncodeError(
                f'Cannot send the named tuple {type(value).__name__} in the '
                f'{what} of a stream event: only keys of registered '
                'connectors are; convert it to a tuple or dict, or send the '
                'object through a store.',
            )
        return {TAG: 'namedtuple', 'type': path, 'v': items}
    if isinstance(value, (bytes, bytearray)):
        tag = 'bytes' if isinstance(value, bytes) else 'bytearray'
        return {TAG: tag, 'v': base64.b64encode(value).decode('ascii')}
    if isinstance(value, (set, frozenset)):
        tag = 'set' if isinstance(value, set) else 'frozenset'
        return {TAG: tag, 'v': [encode_value(v, what) for v in value]}
    raise EventEncodeError(
        f'Cannot send a {type(value).__name__} in the {what} of a stream '
        'event: events carry JSON values, tuples, bytes, sets and '
        'non-finite floats only (nothing is pickled). Send the object '
        'through a store (pass default_store= or stores= to the producer).',
    )


def _items(data: dict[str, Any]) -> list[Any]:
    items = data.get('v')
    if not isinstance(items, list):
        raise EventDecodeError(
            f'Invalid tagged value in a stream event: {data!r:.200}',
        )
    return [decode_value(v) for v in items]


def decode_value(data: Any) -> Any:  # noqa: PLR0911
    """Convert a JSON value made by `encode_value()` back.

    Raises:
        EventDecodeError: If a tagged value is invalid or names a key type
            that is not allowed.
    """
    if isinstance(data, list):
        return [decode_value(v) for v in data]
    if not isinstance(data, dict):
        return data
    tag = data.get(TAG)
    if tag is None:
        return {k: decode_value(v) for k, v in data.items()}
    try:
        if tag == 'tuple':
            return tuple(_items(data))
        if tag == 'namedtuple':
            key_type = check_key_type(data.get('type'))
            return key_type(*_items(data))
        if tag in ('set', 'frozenset'):
            return (set if tag == 'set' else frozenset)(_items(data))
        if tag == 'dict':
            return {k: v for k, v in _items(data)}  # noqa: C416
        if tag in ('bytes', 'bytearray'):
            raw = base64.b64decode(data['v'], validate=True)
            return raw if tag == 'bytes' else bytearray(raw)
        if tag == 'float':
            value = float(data['v'])
            if not math.isfinite(value):
                return value
    except EventDecodeError:
        raise
    except (TypeError, ValueError, KeyError, binascii.Error) as e:
        raise EventDecodeError(
            f'Invalid tagged value in a stream event ({e}): {data!r:.200}',
        ) from e
    raise EventDecodeError(
        f'Invalid tagged value in a stream event: {data!r:.200}',
    )
