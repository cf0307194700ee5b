"""Stream events and their wire encoding.

Producers publish events, not objects: a
[`NewObjectKeyEvent`][proxystore.stream.events.NewObjectKeyEvent] names the
key of an object in a store and carries that store's configuration, so a
consumer anywhere can fetch the object; a
[`NewObjectEvent`][proxystore.stream.events.NewObjectEvent] carries a
(small) object inline, for topics without a store. Every publish is one
[`EventBatch`][proxystore.stream.events.EventBatch].

Wire format and trust model:
    `event_to_bytes()` writes compact UTF-8 JSON, never pickles:
    metadata, inline objects and raw keys are JSON values plus tagged
    tuples, bytes, sets, non-finite floats, dictionaries with non-string
    keys and named-tuple keys of registered connectors. `bytes_to_event()`
    never unpickles and checks every class or function an event names
    (key type, connector kind, serializer) against the allow-list of
    [`proxystore.stream.allowlist`][proxystore.stream.allowlist] *before*
    importing anything, so a hostile message cannot make a consumer import
    an arbitrary module.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import logging
from collections.abc import Mapping
from typing import Any
from typing import Union

import pydantic

from proxystore.store.config import StoreConfig
from proxystore.store.config import object_path
from proxystore.stream._codec import decode_value
from proxystore.stream._codec import encode_value
from proxystore.stream.allowlist import check_connector
from proxystore.stream.allowlist import check_key_type
from proxystore.stream.allowlist import check_serializer
from proxystore.stream.exceptions import EventDecodeError
from proxystore.stream.exceptions import EventEncodeError
from proxystore.utils.imports import get_object_path

logger = logging.getLogger(__name__)


class EventType(enum.Enum):
    """Value of the `event_type` field of an encoded event."""

    END_OF_STREAM = 'end_of_stream'
    EVENT_BATCH = 'event_batch'
    NEW_OBJECT = 'new_object'
    NEW_OBJECT_KEY = 'new_object_key'


@dataclasses.dataclass
class EndOfStreamEvent:
    """The producer closed the topic: no more objects will follow.

    Attributes:
        topic: Topic of the stream.
    """

    topic: str

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EndOfStreamEvent:
        """Create the event from its dictionary form (see `event_to_dict`).

        Raises:
            EventDecodeError: If a field is missing or of the wrong type.
        """
        return cls(topic=_get(data, 'topic', str))


@dataclasses.dataclass
class NewObjectEvent:
    """An object sent inline, in the event itself.

    Producers send these for topics without a store.

    Attributes:
        topic: Topic of the stream.
        obj: The object.
        metadata: User metadata.
    """

    topic: str
    obj: Any
    metadata: dict[str, Any]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NewObjectEvent:
        """Create the event from its dictionary form (see `event_to_dict`).

        Raises:
            EventDecodeError: If a field is missing or of the wrong type.
        """
        if 'obj' not in data:
            raise EventDecodeError("Event field 'obj' is missing.")
        return cls(
            topic=_get(data, 'topic', str),
            obj=data['obj'],
            metadata=_get(data, 'metadata', dict),
        )


@dataclasses.dataclass
class NewObjectKeyEvent:
    """An object put in a store: its key and how to reach the store.

    Attributes:
        topic: Topic of the stream.
        key_type: Dotted path of the key's class.
        raw_key: Fields of the key (`list(key)`).
        evict: Evict the object from the store once a consumer resolves it.
        metadata: User metadata.
        store_config: Configuration of the store holding the object.
    """

    topic: str
    key_type: str
    raw_key: list[Any]
    evict: bool
    metadata: dict[str, Any]
    store_config: StoreConfig

    @classmethod
    def from_key(
        cls,
        key: Any,
        *,
        evict: bool,
        metadata: dict[str, Any],
        store_config: StoreConfig,
        topic: str,
    ) -> NewObjectKeyEvent:
        """Create the event of an object stored under `key`."""
        return cls(
            topic=topic,
            key_type=get_object_path(type(key)),
            raw_key=list(key),
            evict=evict,
            metadata=metadata,
            store_config=store_config,
        )

    def get_key(self) -> Any:
        """Rebuild the key: `key_type(*raw_key)`.

        Raises:
            EventDecodeError: If `key_type` is not the named tuple class of
                a registered connector module (checked before importing it)
                or does not take `raw_key`.
        """
        key_type = check_key_type(self.key_type)
        try:
            return key_type(*self.raw_key)
        except TypeError as e:
            raise EventDecodeError(
                f'Invalid fields for key type {self.key_type!r}: {e}',
            ) from e

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NewObjectKeyEvent:
        """Create the event from its dictionary form (see `event_to_dict`).

        `store_config` may be a `StoreConfig` or its dictionary form.

        Raises:
            EventDecodeError: If a field is missing or of the wrong type.
        """
        config = data.get('store_config')
        if not isinstance(config, StoreConfig):
            config = _validate_store_config(config, decode=False)
        return cls(
            topic=_get(data, 'topic', str),
            key_type=_get(data, 'key_type', str),
            raw_key=_get(data, 'raw_key', list),
            evict=_get(data, 'evict', bool),
            metadata=_get(data, 'metadata', dict),
            store_config=config,
        )


Event = Union[  # noqa: UP007 (a runtime alias must work on Python 3.10)
    EndOfStreamEvent,
    NewObjectEvent,
    NewObjectKeyEvent,
]
"""Any single stream event (batches are `EventBatch`)."""


@dataclasses.dataclass
class EventBatch:
    """Events of one topic sent as a single message, in order.

    Attributes:
        topic: Topic of the stream.
        events: The events.
    """

    topic: str
    events: list[Event]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EventBatch:
        """Create the batch from its dictionary form (see `event_to_dict`).

        Each event is a dictionary made by `event_to_dict()` (or an
        event).

        Raises:
            EventDecodeError: If a field is missing, of the wrong type, or
                an event is itself a batch.
        """
        events: list[Event] = []
        for item in _get(data, 'events', list):
            event = item if _is_event(item) else dict_to_event(item)
            if isinstance(event, EventBatch):
                raise EventDecodeError(
                    'An event batch cannot contain batches.',
                )
            events.append(event)
        return cls(topic=_get(data, 'topic', str), events=events)


_TYPES: dict[type[Any], EventType] = {
    EndOfStreamEvent: EventType.END_OF_STREAM,
    EventBatch: EventType.EVENT_BATCH,
    NewObjectEvent: EventType.NEW_OBJECT,
    NewObjectKeyEvent: EventType.NEW_OBJECT_KEY,
}
_CLASSES = {event_type: cls for cls, event_type in _TYPES.items()}


def _is_event(value: Any) -> bool:
    return type(value) in _TYPES


def _get(data: Mapping[str, Any], name: str, kind: type[Any]) -> Any:
    value = data.get(name)
    if not isinstance(value, kind):
        raise EventDecodeError(
            f'Event field {name!r} must be of type {kind.__name__}, got '
            f'{value!r:.100}.',
        )
    return value


def event_to_dict(event: Event | EventBatch) -> dict[str, Any]:
    """Convert an event to a dictionary: its fields plus `'event_type'`.

    The fields are those of `dataclasses.asdict()` (a batch's events are
    dictionaries of this form too); `event_type` is the `EventType` value.

    Raises:
        EventEncodeError: If `event` is not an event.
    """
    event_type = _TYPES.get(type(event))
    if event_type is None:
        raise EventEncodeError(f'Not a stream event: {event!r:.200}')
    if isinstance(event, EventBatch):
        data: dict[str, Any] = {
            'topic': event.topic,
            'events': [event_to_dict(e) for e in event.events],
        }
    else:
        data = dataclasses.asdict(event)
    data['event_type'] = event_type.value
    return data


def dict_to_event(data: Mapping[str, Any]) -> Event | EventBatch:
    """Convert a dictionary made by `event_to_dict()` back to an event.

    The input is not modified (`event_type` is popped from a copy).

    Raises:
        EventDecodeError: If `data` is not a valid event dictionary.
    """
    if not isinstance(data, Mapping):
        raise EventDecodeError(
            f'An encoded event must be a JSON object, got '
            f'{type(data).__name__}.',
        )
    fields = dict(data)
    raw_type = fields.pop('event_type', None)
    try:
        event_type = EventType(raw_type)
    except ValueError:
        raise EventDecodeError(
            f'Unknown event type {raw_type!r:.100}; expected one of '
            f'{", ".join(t.value for t in EventType)}.',
        ) from None
    event: Event | EventBatch = _CLASSES[event_type].from_dict(fields)
    return event


# JSON wire form: the dictionary form with values encoded by `_codec`.


def store_config_to_dict(config: StoreConfig) -> dict[str, Any]:
    """Convert a store configuration to the JSON form sent in events.

    Only fields that differ from their defaults are kept; a custom
    serializer or deserializer is named by its dotted import path.

    Raises:
        EventEncodeError: If a serializer is not a module-level function or
            a connector option is not encodable.
    """
    data = config.model_dump(exclude_defaults=True)
    for field in ('serializer', 'deserializer'):
        function = data.get(field)
        if function is not None:
            try:
                data[field] = object_path(function)
            except ValueError as e:
                raise EventEncodeError(
                    f'The {field} of store {config.name!r} cannot be named '
                    f'in a stream event: {e}',
                ) from e
    connector = data.setdefault('connector', {})
    connector['kind'] = config.connector.kind
    connector['options'] = encode_value(
        config.connector.options,
        f'connector options of store {config.name!r}',
    )
    return data


def store_config_from_dict(data: Any) -> StoreConfig:
    """Convert the JSON form made by `store_config_to_dict()` back.

    The connector kind(s) and serializers are checked against the
    allow-list before anything is imported.

    Raises:
        EventDecodeError: If `data` is not a valid store configuration or
            names something not allowed.
    """
    return _validate_store_config(data, decode=True)


def _validate_store_config(data: Any, *, decode: bool) -> StoreConfig:
    if not isinstance(data, dict) or not isinstance(
        data.get('connector'),
        dict,
    ):
        raise EventDecodeError(f'Invalid store config in event: {data!r:.200}')
    connector = dict(data['connector'])
    options = connector.get('options', {})
    connector['options'] = decode_value(options) if decode else options
    check_connector(connector.get('kind'), connector['options'])
    for field in ('serializer', 'deserializer'):
        value = data.get(field)
        if value is not None and not callable(value):
            check_serializer(value, field)
    try:
        return StoreConfig.model_validate({**data, 'connector': connector})
    except pydantic.ValidationError as e:
        raise EventDecodeError(f'Invalid store config in event: {e}') from e


def _to_json(event: Event | EventBatch) -> dict[str, Any]:
    if isinstance(event, EventBatch):
        data: dict[str, Any] = {
            'topic': event.topic,
            'events': [_to_json(e) for e in event.events],
        }
    elif isinstance(event, NewObjectKeyEvent):
        data = {
            'topic': event.topic,
            'key_type': event.key_type,
            'raw_key': encode_value(list(event.raw_key), 'key'),
            'evict': event.evict,
            'metadata': encode_value(event.metadata, 'metadata'),
            'store_config': store_config_to_dict(event.store_config),
        }
    elif isinstance(event, NewObjectEvent):
        data = {
            'topic': event.topic,
            'obj': encode_value(event.obj, 'inline object'),
            'metadata': encode_value(event.metadata, 'metadata'),
        }
    elif isinstance(event, EndOfStreamEvent):
        data = {'topic': event.topic}
    else:
        raise EventEncodeError(f'Not a stream event: {event!r:.200}')
    data['event_type'] = _TYPES[type(event)].value
    return data


def _from_json(data: Any) -> Event | EventBatch:
    if not isinstance(data, dict):
        raise EventDecodeError(
            f'An encoded event must be a JSON object, got '
            f'{type(data).__name__}.',
        )
    fields = dict(data)
    event_type = fields.get('event_type')
    if event_type == EventType.EVENT_BATCH.value:
        fields['events'] = [
            _from_json(item) for item in _get(fields, 'events', list)
        ]
    elif event_type == EventType.NEW_OBJECT_KEY.value:
        check_key_type(fields.get('key_type'))
        fields['store_config'] = store_config_from_dict(
            fields.get('store_config'),
        )
        fields['raw_key'] = decode_value(fields.get('raw_key'))
        fields['metadata'] = decode_value(fields.get('metadata'))
    elif event_type == EventType.NEW_OBJECT.value:
        if 'obj' in fields:
            fields['obj'] = decode_value(fields['obj'])
        fields['metadata'] = decode_value(fields.get('metadata'))
    return dict_to_event(fields)


def event_to_bytes(event: Event | EventBatch) -> bytes:
    """Encode an event as a message (compact UTF-8 JSON, never pickled).

    Raises:
        EventEncodeError: If the event holds a value that cannot be encoded
            (see the module documentation).
    """
    data = _to_json(event)
    try:
        message = json.dumps(data, separators=(',', ':'), allow_nan=False)
    except (TypeError, ValueError) as e:  # pragma: no cover (codec checks)
        raise EventEncodeError(
            f'Cannot encode the {type(event).__name__} of topic '
            f'{event.topic!r}: {e}',
        ) from e
    return message.encode()


def bytes_to_event(
    message: bytes | bytearray | memoryview,
) -> Event | EventBatch:
    """Decode a message made by `event_to_bytes()`.

    Everything the message names is checked against the allow-list before
    anything is imported.

    Raises:
        EventDecodeError: If the message is not a valid encoded event, or
            names a key type, connector kind or serializer that is not
            allowed.
    """
    if not isinstance(message, (bytes, bytearray, memoryview)):
        raise EventDecodeError(
            f'A stream message must be bytes, got {type(message).__name__}.',
        )
    raw = bytes(message)
    try:
        data = json.loads(raw)
        return _from_json(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise EventDecodeError(
            f'Message is not an encoded stream event ({e}): {raw[:64]!r}',
        ) from e
    except RecursionError:
        raise EventDecodeError(
            f'Message is nested too deeply to be a stream event: {raw[:64]!r}',
        ) from None
