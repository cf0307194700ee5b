from __future__ import annotations

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
from proxystore.stream.events import EndOfStreamEvent
from proxystore.stream.events import EventBatch
from proxystore.stream.events import NewObjectEvent
from proxystore.stream.events import NewObjectKeyEvent
from proxystore.stream.events import bytes_to_event
from proxystore.stream.events import dict_to_event
from proxystore.stream.events import event_to_bytes
from proxystore.stream.events import event_to_dict
from proxystore.stream.events import key_from_json
from proxystore.stream.events import key_to_json
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
    return NewObjectKeyEvent('t', key, CONFIG, **kwargs)


@pytest.mark.parametrize(
    'event',
    [
        key_event(FileKey('abc'), evict=False, metadata={'i': 1, 'x': [1.5]}),
        key_event(RedisKey('k')),
        key_event(MultiKey('redis', RedisKey('k'))),
        key_event(MultiKey('plain', ('a', 1, None))),
        NewObjectEvent('t', {'a': [1, 2]}, {'m': 'v'}),
        EndOfStreamEvent('t'),
        EventBatch(
            't',
            [
                key_event(FileKey('a')),
                key_event(FileKey('b')),
                EndOfStreamEvent('t'),
            ],
        ),
    ],
)
def test_round_trip(event: Any) -> None:
    assert bytes_to_event(event_to_bytes(event)) == event
    assert dict_to_event(event_to_dict(event)) == event
    # The dictionary form is plain JSON.
    assert json.loads(json.dumps(event_to_dict(event))) == event_to_dict(event)


def test_key_types_survive() -> None:
    key = MultiKey('redis', RedisKey('k'))
    decoded = key_from_json(json.loads(json.dumps(key_to_json(key))))
    assert type(decoded) is MultiKey
    assert type(decoded.connector_key) is RedisKey


def test_store_config_is_compact_and_names_serializers() -> None:
    config = StoreConfig(
        name='custom',
        connector=ConnectorConfig(
            kind='file', options={'store_dir': '/tmp/x'}
        ),
        serializer=custom_serializer,
        deserializer=custom_deserializer,
    )
    data = event_to_dict(NewObjectKeyEvent('t', FileKey('a'), config))
    assert data['store_config'] == {
        'name': 'custom',
        'connector': {'kind': 'file', 'options': {'store_dir': '/tmp/x'}},
        'serializer': f'{__name__}.custom_serializer',
        'deserializer': f'{__name__}.custom_deserializer',
    }
    event = bytes_to_event(json.dumps(data).encode())
    assert isinstance(event, NewObjectKeyEvent)
    assert event.store_config.serializer is custom_serializer
    assert event.store_config == config


def test_store_config_of_real_store(tmp_path: Any) -> None:
    from proxystore.connectors.file import FileConnector

    with Store('real', FileConnector(str(tmp_path)), cache_size=0) as store:
        event = NewObjectKeyEvent('t', store.put(1), store.config())
        decoded = bytes_to_event(event_to_bytes(event))
        assert decoded == event


def test_lambda_serializer_cannot_be_sent() -> None:
    config = CONFIG.model_copy(update={'serializer': lambda x: b''})
    with pytest.raises(EventEncodeError, match='serializer'):
        event_to_bytes(NewObjectKeyEvent('t', FileKey('a'), config))


@pytest.mark.parametrize(
    ('event', 'match'),
    [
        (key_event(FileKey('a'), metadata={'x': object()}), 'JSON'),
        (key_event(FileKey('a'), metadata={'x': float('nan')}), 'JSON'),
        (NewObjectEvent('t', b'bytes'), 'JSON'),
        (key_event(object()), 'key'),
        (key_event(FileKey(b'bytes')), 'key'),  # type: ignore[arg-type]
    ],
)
def test_unencodable_events(event: Any, match: str) -> None:
    with pytest.raises(EventEncodeError, match=match):
        event_to_bytes(event)


def test_not_an_event() -> None:
    with pytest.raises(EventEncodeError, match='Not a stream event'):
        event_to_dict('nope')  # type: ignore[arg-type]


def _encoded(**changes: Any) -> bytes:
    data = event_to_dict(key_event(FileKey('a')))
    data.update(changes)
    return json.dumps(data).encode()


CALLED: list[Any] = []


def record_call(*args: Any) -> None:
    CALLED.append(args)


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
        (_encoded(key=[1, 2]), 'Invalid key'),
        (
            _encoded(key={'type': 'no.such.Module', 'fields': []}),
            'Unknown key',
        ),
        (
            _encoded(key={'type': f'{__name__}.record_call', 'fields': ['x']}),
            'not a named tuple class',
        ),
        (
            _encoded(
                key={
                    'type': 'proxystore.connectors.file.FileKey',
                    'fields': [],
                },
            ),
            'Invalid fields',
        ),
        (_encoded(store_config={'name': 'x'}), 'Invalid store config'),
        (
            _encoded(
                store_config={
                    'name': 'x',
                    'connector': {'kind': 'nope', 'options': {}},
                },
            ),
            'Invalid store config',
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
    # Decoding never calls what a message names, except tuple classes.
    assert CALLED == []


def test_message_must_be_bytes() -> None:
    with pytest.raises(EventDecodeError, match='must be bytes, got str'):
        bytes_to_event('{}')  # type: ignore[arg-type]
    assert bytes_to_event(memoryview(event_to_bytes(EndOfStreamEvent('t'))))


def test_decode_errors_are_value_errors() -> None:
    with pytest.raises(ValueError):
        bytes_to_event(b'nope')
