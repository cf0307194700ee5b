"""Stream events: dataclasses, dictionary form and JSON wire form."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from proxystore.connectors.file import FileKey
from proxystore.connectors.multi import MultiKey
from proxystore.connectors.redis import RedisKey
from proxystore.serialize import deserialize
from proxystore.serialize import serialize
from proxystore.store import Store
from proxystore.store.config import ConnectorConfig
from proxystore.store.config import StoreConfig
from proxystore.stream.allowlist import allow_serializer
from proxystore.stream.events import EndOfStreamEvent
from proxystore.stream.events import Event
from proxystore.stream.events import EventBatch
from proxystore.stream.events import EventType
from proxystore.stream.events import NewObjectEvent
from proxystore.stream.events import NewObjectKeyEvent
from proxystore.stream.events import bytes_to_event
from proxystore.stream.events import dict_to_event
from proxystore.stream.events import event_to_bytes
from proxystore.stream.events import event_to_dict
from proxystore.stream.exceptions import EventDecodeError
from proxystore.stream.exceptions import EventEncodeError


def custom_serializer(obj: Any) -> bytes:
    return serialize(obj)


def custom_deserializer(data: bytes) -> Any:
    return deserialize(data)


CONFIG = StoreConfig(
    name='events',
    connector=ConnectorConfig(kind='file', options={'store_dir': '/tmp/x'}),
)


def key_event(key: Any, **kwargs: Any) -> NewObjectKeyEvent:
    options: dict[str, Any] = {
        'evict': True,
        'metadata': {},
        'store_config': CONFIG,
        'topic': 't',
    }
    options.update(kwargs)
    return NewObjectKeyEvent.from_key(key, **options)


def test_positional_fields_and_key_round_trip() -> None:
    event = NewObjectKeyEvent(
        't',
        'proxystore.connectors.file.FileKey',
        ['abc'],
        False,
        {'m': 1},
        CONFIG,
    )
    assert event == key_event(FileKey('abc'), evict=False, metadata={'m': 1})
    assert event.get_key() == FileKey('abc')
    assert type(event.get_key()) is FileKey
    assert [f.name for f in dataclasses.fields(NewObjectKeyEvent)] == [
        'topic',
        'key_type',
        'raw_key',
        'evict',
        'metadata',
        'store_config',
    ]
    assert NewObjectEvent('t', 1, {}) == NewObjectEvent(
        topic='t',
        obj=1,
        metadata={},
    )
    batch = EventBatch('t', [EndOfStreamEvent('t')])
    batch.events.append(EndOfStreamEvent('t'))  # mutable dataclasses
    assert len(batch.events) == 2  # noqa: PLR2004


def test_nested_key_types_survive() -> None:
    event = key_event(MultiKey('redis', RedisKey('k')))
    assert event.key_type == 'proxystore.connectors.multi.MultiKey'
    assert event.raw_key == ['redis', RedisKey('k')]
    decoded = bytes_to_event(event_to_bytes(event))
    assert isinstance(decoded, NewObjectKeyEvent)
    key = decoded.get_key()
    assert type(key) is MultiKey
    assert type(key.connector_key) is RedisKey


VALUES = [
    {'a': [1, 2.5, None, True, 'x']},
    (1, 'two', (3,)),
    b'\x00\xffbytes',
    bytearray(b'ba'),
    {1: 'int key', (2, 3): 'tuple key'},
    {'$ps': 'looks like a tag'},
    {1, 2},
    frozenset({'a'}),
    float('inf'),
    [float('-inf'), {'nested': {b'k': (None,)}}],
]


@pytest.mark.parametrize('value', VALUES)
def test_inline_objects_and_metadata_round_trip(value: Any) -> None:
    event = NewObjectEvent('t', value, {'meta': value})
    decoded = bytes_to_event(event_to_bytes(event))
    assert decoded == event
    assert isinstance(decoded, NewObjectEvent)
    assert type(decoded.obj) is type(value)


def test_nan_round_trips() -> None:
    decoded = bytes_to_event(
        event_to_bytes(NewObjectEvent('t', float('nan'), {})),
    )
    assert isinstance(decoded, NewObjectEvent)
    assert decoded.obj != decoded.obj


@pytest.mark.parametrize(
    'event',
    [
        key_event(FileKey('abc'), evict=False, metadata={'i': 1, 'x': [1.5]}),
        key_event(RedisKey('k')),
        key_event(MultiKey('plain', ('a', 1, None))),
        NewObjectEvent('t', {'a': [1, 2]}, {'m': 'v'}),
        EndOfStreamEvent('t'),
        EventBatch(
            't',
            [
                key_event(FileKey('a')),
                NewObjectEvent('t', b'inline', {}),
                EndOfStreamEvent('t'),
            ],
        ),
    ],
)
def test_round_trip(event: Event | EventBatch) -> None:
    assert bytes_to_event(event_to_bytes(event)) == event
    assert dict_to_event(event_to_dict(event)) == event


def test_event_to_dict_is_asdict_plus_event_type() -> None:
    event = key_event(FileKey('a'), metadata={'k': 1})
    data = event_to_dict(event)
    assert data.pop('event_type') == EventType.NEW_OBJECT_KEY.value
    assert data == dataclasses.asdict(event)
    assert event_to_dict(EndOfStreamEvent('t')) == {
        'topic': 't',
        'event_type': EventType.END_OF_STREAM.value,
    }
    batch = event_to_dict(EventBatch('t', [EndOfStreamEvent('t')]))
    assert batch['event_type'] == EventType.EVENT_BATCH.value
    assert set(EventType.__members__) == {
        'END_OF_STREAM',
        'EVENT_BATCH',
        'NEW_OBJECT',
        'NEW_OBJECT_KEY',
    }


def test_dict_to_event_does_not_modify_its_input() -> None:
    data = event_to_dict(EndOfStreamEvent('t'))
    copy = dict(data)
    dict_to_event(data)
    assert data == copy


def test_from_dict_classmethods() -> None:
    assert EndOfStreamEvent.from_dict({'topic': 't'}) == EndOfStreamEvent('t')
    event = key_event(FileKey('a'))
    data = dataclasses.asdict(event)
    data['store_config'] = CONFIG.model_dump()
    assert NewObjectKeyEvent.from_dict(data) == event


def test_the_wire_form_is_json() -> None:
    event = key_event(FileKey('abc'), metadata={'t': (1, 2)})
    data = json.loads(event_to_bytes(event))
    assert data['key_type'] == 'proxystore.connectors.file.FileKey'
    assert data['raw_key'] == ['abc']
    assert data['metadata'] == {'t': {'$ps': 'tuple', 'v': [1, 2]}}
    assert data['store_config'] == {
        'name': 'events',
        'connector': {'kind': 'file', 'options': {'store_dir': '/tmp/x'}},
    }


def test_custom_serializers_must_be_allowed_by_the_consumer() -> None:
    config = StoreConfig(
        name='custom',
        connector=ConnectorConfig(kind='file', options={'store_dir': '/x'}),
        serializer=custom_serializer,
        deserializer=custom_deserializer,
    )
    message = event_to_bytes(key_event(FileKey('a'), store_config=config))
    assert json.loads(message)['store_config']['serializer'] == (
        f'{__name__}.custom_serializer'
    )
    with pytest.raises(EventDecodeError, match='allow_serializer'):
        bytes_to_event(message)
    allow_serializer(custom_serializer, custom_deserializer)
    event = bytes_to_event(message)
    assert isinstance(event, NewObjectKeyEvent)
    assert event.store_config.serializer is custom_serializer
    assert event.store_config == config


def test_only_module_level_functions_can_be_allowed() -> None:
    with pytest.raises(ValueError, match='module-level'):
        allow_serializer(lambda data: data)


def test_store_config_of_real_store(tmp_path: Any) -> None:
    from proxystore.connectors.file import FileConnector

    with Store('real', FileConnector(str(tmp_path)), cache_size=0) as store:
        event = key_event(store.put(1), store_config=store.config())
        assert bytes_to_event(event_to_bytes(event)) == event


def test_lambda_serializer_cannot_be_sent() -> None:
    config = CONFIG.model_copy(update={'serializer': lambda x: b''})
    with pytest.raises(EventEncodeError, match='serializer'):
        event_to_bytes(key_event(FileKey('a'), store_config=config))


class Point(tuple[Any, ...]):  # noqa: SLOT001
    _fields = ('x',)


@pytest.mark.parametrize(
    ('event', 'match'),
    [
        (key_event(FileKey('a'), metadata={'x': object()}), 'metadata'),
        (NewObjectEvent('t', object(), {}), 'through a store'),
        (NewObjectEvent('t', Point((1,)), {}), 'named tuple Point'),
        (key_event(FileKey(object())), 'key'),  # type: ignore[arg-type]
    ],
)
def test_unencodable_events(event: Any, match: str) -> None:
    with pytest.raises(EventEncodeError, match=match):
        event_to_bytes(event)


def test_not_an_event() -> None:
    with pytest.raises(EventEncodeError, match='Not a stream event'):
        event_to_dict('nope')  # type: ignore[arg-type]
    with pytest.raises(EventEncodeError, match='Not a stream event'):
        event_to_bytes('nope')  # type: ignore[arg-type]


def _encoded(**changes: Any) -> bytes:
    data = json.loads(event_to_bytes(key_event(FileKey('a'))))
    data.update(changes)
    return json.dumps(data).encode()


def _connector(kind: str, options: Any) -> bytes:
    return _encoded(
        store_config={
            'name': 'x',
            'connector': {'kind': kind, 'options': options},
        },
    )


@pytest.mark.parametrize(
    ('message', 'match'),
    [
        (b'', 'not an encoded stream event'),
        (b'\xff\xfe garbage', 'not an encoded stream event'),
        (b'{"event_type": ', 'not an encoded stream event'),
        (b'[1, 2]', 'must be a JSON object'),
        (b'{"topic": "t"}', 'Unknown event type None'),
        (
            b'{"event_type": "party", "topic": "t"}',
            "Unknown event type 'party'",
        ),
        (b'{"event_type": "end_of_stream"}', "'topic'"),
        (
            b'{"event_type": "new_object", "topic": "t", "metadata": {}}',
            "'obj'",
        ),
        (_encoded(evict='yes'), "'evict'"),
        (_encoded(metadata=[]), "'metadata'"),
        (_encoded(raw_key='abc'), "'raw_key'"),
        (_encoded(key_type=7), 'key type of a stream event must be a str'),
        (_encoded(key_type='os.system'), 'not a class of a registered'),
        (
            _encoded(key_type='proxystore.connectors.file.FileConnector'),
            'not a named tuple class',
        ),
        (
            _encoded(key_type='proxystore.connectors.file.NoSuchKey'),
            'Unknown key type',
        ),
        (
            _encoded(raw_key=[{'$ps': 'namedtuple', 'type': 'os.X', 'v': []}]),
            'not a class of a registered',
        ),
        (_encoded(raw_key=[{'$ps': 'what', 'v': []}]), 'Invalid tagged'),
        (_encoded(raw_key=[{'$ps': 'bytes', 'v': '!!'}]), 'Invalid tagged'),
        (_encoded(raw_key=[{'$ps': 'tuple', 'v': 1}]), 'Invalid tagged'),
        (_encoded(raw_key=[{'$ps': 'dict', 'v': [[[1], 2]]}]), 'Invalid'),
        (_encoded(store_config={'name': 'x'}), 'Invalid store config'),
        (_connector('nope', {}), "connector kind 'nope'"),
        (_connector('os.path.Thing', {}), 'not a registered connector'),
        (
            _connector(
                'multi',
                {'a': {'$ps': 'tuple', 'v': ['evil.Conn', {}, {}]}},
            ),
            "connector kind 'evil.Conn'",
        ),
        (
            _connector(
                'multi',
                {'connectors': {'a': {'kind': 'evil', 'options': {}}}},
            ),
            "connector kind 'evil'",
        ),
        (_connector('multi', {'a': 'b'}), 'Invalid MultiConnector child'),
        (_connector('multi', []), 'must be a mapping'),
        (
            _encoded(
                store_config={
                    'name': 'x',
                    'connector': {'kind': 'file', 'options': {}},
                    'deserializer': 'os.system',
                },
            ),
            "deserializer 'os.system'",
        ),
        (
            json.dumps(
                {
                    'event_type': 'event_batch',
                    'topic': 't',
                    'events': [
                        {
                            'event_type': 'event_batch',
                            'topic': 't',
                            'events': [],
                        },
                    ],
                },
            ).encode(),
            'cannot contain batches',
        ),
    ],
)
def test_garbage_messages(message: bytes, match: str) -> None:
    with pytest.raises(EventDecodeError, match=match):
        bytes_to_event(message)


def test_registered_kinds_by_any_name_are_allowed() -> None:
    for kind in (
        'file',
        'FILE',
        'FileConnector',
        'proxystore.connectors.file.FileConnector',
    ):
        event = bytes_to_event(_connector(kind, {'store_dir': '/tmp/x'}))
        assert isinstance(event, NewObjectKeyEvent)
        assert event.store_config.connector.kind == kind


def test_get_key_checks_the_key_type() -> None:
    event = key_event(FileKey('a'))
    event.key_type = 'subprocess.Popen'
    with pytest.raises(EventDecodeError, match='not a class of a registered'):
        event.get_key()
    event.key_type = 'proxystore.connectors.file.FileKey'
    event.raw_key = ['a', 'b', 'c']
    with pytest.raises(EventDecodeError, match='Invalid fields'):
        event.get_key()


def test_message_must_be_bytes() -> None:
    with pytest.raises(EventDecodeError, match='must be bytes, got str'):
        bytes_to_event('{}')  # type: ignore[arg-type]
    assert bytes_to_event(memoryview(event_to_bytes(EndOfStreamEvent('t'))))


def test_decode_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        bytes_to_event(b'nope')


@pytest.mark.parametrize(
    'message',
    [
        b'[' * 100_000 + b']' * 100_000,
        b'{"event_type": "new_object", "topic": "t", "metadata": {}, "obj": '
        + b'[' * 5000
        + b']' * 5000
        + b'}',
    ],
)
def test_deeply_nested_messages(message: bytes) -> None:
    with pytest.raises(EventDecodeError, match='nested too deeply'):
        bytes_to_event(message)
