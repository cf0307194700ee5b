"""Stream events and their wire encoding.

Producers publish events, not objects: a
[`NewObjectKeyEvent`][proxystore.stream.events.NewObjectKeyEvent] names the
key of an object in a store and carries that store's configuration, so a
consumer anywhere can fetch the object. Events travel as compact JSON.

Trust model:
    Decoding a message never unpickles anything and never calls code named
    in the message, except that keys are rebuilt by calling their named
    tuple class (only subclasses of `tuple` are accepted). The *store
    configuration* in an event is another matter: resolving the object
    creates a store from it (unless this process already registered a store
    of that name), which imports and instantiates the connector class it
    names and imports the serializer functions it names. Only consume
    streams from brokers and producers you trust, or register your own
    stores under the expected names before consuming.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Mapping
from typing import Any
from typing import Union

import pydantic

from proxystore.store.config import StoreConfig
from proxystore.store.config import import_from_path
from proxystore.store.config import object_path
from proxystore.stream.exceptions import EventDecodeError
from proxystore.stream.exceptions import EventEncodeError


class EventType(str, enum.Enum):
    """Value of the `event_type` field of an encoded event."""

    NEW_OBJECT = 'new_object'
    NEW_OBJECT_KEY = 'new_object_key'
    END_OF_STREAM = 'end_of_stream'
    EVENT_BATCH = 'event_batch'


@dataclasses.dataclass(frozen=True)
class NewObjectEvent:
    """An object sent inline, in the event itself.

    Producers use it for objects buffered until a batch is aggregated; on
    the wire the object must be a JSON value.

    Attributes:
        topic: Topic of the stream.
        obj: The object.
        metadata: User metadata (a JSON object).
    """

    topic: str
    obj: Any
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class NewObjectKeyEvent:
    """An object put in a store: its key and how to reach the store.

    Attributes:
        topic: Topic of the stream.
        key: Connector key of the object.
        store_config: Configuration of the store holding the object.
        evict: Evict the object from the store once a consumer resolves it.
        metadata: User metadata (a JSON object).
    """

    topic: str
    key: Any
    store_config: StoreConfig
    evict: bool = True
    metadata: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class EndOfStreamEvent:
    """The producer closed the topic: no more objects will follow.

    Attributes:
        topic: Topic of the stream.
    """

    topic: str


@dataclasses.dataclass(frozen=True)
class EventBatch:
    """Events of one topic sent as a single message, in order.

    Attributes:
        topic: Topic of the stream.
        events: The events (never batches themselves).
    """

    topic: str
    events: list[NewObjectEvent | NewObjectKeyEvent | EndOfStreamEvent]


Event = Union[  # noqa: UP007 (a runtime alias must work on Python 3.10)
    NewObjectEvent,
    NewObjectKeyEvent,
    EndOfStreamEvent,
    EventBatch,
]
"""Any stream event."""

ObjectEvent = Union[NewObjectEvent, NewObjectKeyEvent]  # noqa: UP007
"""An event that delivers an object."""


def check_json(value: Any, what: str) -> None:
    """Raise `EventEncodeError` if `value` is not a JSON value.

    Args:
        value: Value to check.
        what: Name of the value in the error message (e.g., `'metadata'`).
    """
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise EventEncodeError(
            f'The {what} of a stream event must be JSON-compatible (dict '
            f'with str keys, list, str, int, float, bool, None): {e}',
        ) from e


# Keys: connector keys are (nested) named tuples of JSON scalars.


def key_to_json(key: Any) -> Any:
    """Convert a connector key to a JSON value.

    A named tuple becomes `{"type": <import path>, "fields": [...]}`, a
    plain tuple `{"tuple": [...]}`; JSON scalars stay as they are.

    Raises:
        EventEncodeError: If a part of the key is of another type, or a
            named tuple class is not importable by its path.
    """
    if isinstance(key, tuple) and hasattr(type(key), '_fields'):
        try:
            path = object_path(type(key))
        except ValueError as e:
            raise EventEncodeError(str(e)) from e
        return {'type': path, 'fields': [key_to_json(v) for v in key]}
    if isinstance(key, (list, tuple)):
        return {'tuple': [key_to_json(v) for v in key]}
    if key is None or isinstance(key, (str, int, float)):
        return key
    raise EventEncodeError(
        f'Cannot encode a key part of type {type(key).__name__} ({key!r}) '
        'in a stream event: keys must be named tuples of str, int, float, '
        'bool, None or other named tuples.',
    )


def key_from_json(data: Any) -> Any:
    """Convert a JSON value made by `key_to_json()` back to a key.

    Raises:
        EventDecodeError: If `data` is not an encoded key, or names a class
            that does not exist or is not a subclass of `tuple`.
    """
    if data is None or isinstance(data, (str, int, float)):
        return data
    if isinstance(data, dict) and isinstance(data.get('tuple'), list):
        return tuple(key_from_json(v) for v in data['tuple'])
    if (
        isinstance(data, dict)
        and isinstance(data.get('type'), str)
        and isinstance(data.get('fields'), list)
    ):
        try:
            key_type = import_from_path(data['type'])
        except ImportError as e:
            raise EventDecodeError(f'Unknown key type: {e}') from e
        if not (isinstance(key_type, type) and issubclass(key_type, tuple)):
            raise EventDecodeError(
                f'Key type {data["type"]!r} is not a named tuple class.',
            )
        fields = [key_from_json(v) for v in data['fields']]
        try:
            return key_type(*fields)
        except TypeError as e:
            raise EventDecodeError(
                f'Invalid fields for key type {data["type"]!r}: {e}',
            ) from e
    raise EventDecodeError(f'Invalid key in event: {data!r:.200}')


# Store configurations: the fields that differ from their defaults;
# serializers as dotted import paths (as in TOML files).


def store_config_to_dict(config: StoreConfig) -> dict[str, Any]:
    """Convert a store configuration to the dictionary sent in events.

    Only fields that differ from their defaults are kept; a custom
    serializer or deserializer is named by its dotted import path.

    Raises:
        EventEncodeError: If a serializer is not an importable module-level
            function.
    """
    data = config.model_dump(exclude_defaults=True)
    for field in ('serializer', 'deserializer'):
        if data.get(field) is not None:
            try:
                data[field] = object_path(data[field])
            except ValueError as e:
                raise EventEncodeError(
                    f'The {field} of store {config.name!r} cannot be named '
                    f'in a stream event: {e}',
                ) from e
    return data


def store_config_from_dict(data: Any) -> StoreConfig:
    """Convert a dictionary made by `store_config_to_dict()` back.

    Raises:
        EventDecodeError: If `data` is not a valid store configuration.
    """
    try:
        return StoreConfig.model_validate(data)
    except pydantic.ValidationError as e:
        raise EventDecodeError(f'Invalid store config in event: {e}') from e


def event_to_dict(event: Event) -> dict[str, Any]:
    """Convert an event to a JSON-compatible dictionary.

    Raises:
        EventEncodeError: If the key type or a store serializer cannot be
            named by an import path. (Metadata and inline objects are
            checked by `event_to_bytes()`.)
    """
    if isinstance(event, NewObjectKeyEvent):
        return {
            'event_type': EventType.NEW_OBJECT_KEY.value,
            'topic': event.topic,
            'key': key_to_json(event.key),
            'store_config': store_config_to_dict(event.store_config),
            'evict': event.evict,
            'metadata': event.metadata,
        }
    if isinstance(event, NewObjectEvent):
        return {
            'event_type': EventType.NEW_OBJECT.value,
            'topic': event.topic,
            'obj': event.obj,
            'metadata': event.metadata,
        }
    if isinstance(event, EndOfStreamEvent):
        return {
            'event_type': EventType.END_OF_STREAM.value,
            'topic': event.topic,
        }
    if isinstance(event, EventBatch):
        return {
            'event_type': EventType.EVENT_BATCH.value,
            'topic': event.topic,
            'events': [event_to_dict(e) for e in event.events],
        }
    raise EventEncodeError(f'Not a stream event: {event!r:.200}')


def _get(data: Mapping[str, Any], name: str, kind: type[Any]) -> Any:
    value = data.get(name)
    if not isinstance(value, kind):
        raise EventDecodeError(
            f'Event field {name!r} must be of type {kind.__name__}, got '
            f'{value!r:.100}.',
        )
    return value


def dict_to_event(data: Mapping[str, Any]) -> Event:
    """Convert a dictionary made by `event_to_dict()` back to an event.

    Raises:
        EventDecodeError: If `data` is not a valid encoded event.
    """
    if not isinstance(data, Mapping):
        raise EventDecodeError(
            f'An encoded event must be a JSON object, got '
            f'{type(data).__name__}.',
        )
    try:
        event_type = EventType(data.get('event_type'))
    except ValueError:
        raise EventDecodeError(
            f'Unknown event type {data.get("event_type")!r:.100}; expected '
            f'one of {", ".join(t.value for t in EventType)}.',
        ) from None
    topic = _get(data, 'topic', str)
    if event_type is EventType.NEW_OBJECT_KEY:
        return NewObjectKeyEvent(
            topic=topic,
            key=key_from_json(data.get('key')),
            store_config=store_config_from_dict(data.get('store_config')),
            evict=_get(data, 'evict', bool),
            metadata=_get(data, 'metadata', dict),
        )
    if event_type is EventType.NEW_OBJECT:
        if 'obj' not in data:
            raise EventDecodeError("Event field 'obj' is missing.")
        return NewObjectEvent(
            topic=topic,
            obj=data['obj'],
            metadata=_get(data, 'metadata', dict),
        )
    if event_type is EventType.END_OF_STREAM:
        return EndOfStreamEvent(topic=topic)
    events = []
    for item in _get(data, 'events', list):
        event = dict_to_event(item)
        if isinstance(event, EventBatch):
            raise EventDecodeError('An event batch cannot contain batches.')
        events.append(event)
    return EventBatch(topic=topic, events=events)


def event_to_bytes(event: Event) -> bytes:
    """Encode an event as a message (UTF-8 JSON).

    Raises:
        EventEncodeError: If the event cannot be encoded (see
            `event_to_dict()`; metadata and inline objects must be JSON).
    """
    data = event_to_dict(event)
    try:
        return json.dumps(
            data,
            separators=(',', ':'),
            allow_nan=False,
        ).encode()
    except (TypeError, ValueError) as e:
        raise EventEncodeError(
            f'Cannot encode the {type(event).__name__} of topic '
            f'{event.topic!r}: metadata and inline objects must be '
            f'JSON-compatible ({e}).',
        ) from e


def bytes_to_event(message: bytes | bytearray | memoryview) -> Event:
    """Decode a message made by `event_to_bytes()`.

    Raises:
        EventDecodeError: If the message is not a valid encoded event.
    """
    if not isinstance(message, (bytes, bytearray, memoryview)):
        raise EventDecodeError(
            f'A stream message must be bytes, got {type(message).__name__}.',
        )
    raw = bytes(message)
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EventDecodeError(
            f'Message is not an encoded stream event ({e}): {raw[:64]!r}',
        ) from e
    return dict_to_event(data)
