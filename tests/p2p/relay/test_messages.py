from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from proxystore.p2p.relay.messages import PeerConnectionRequest
from proxystore.p2p.relay.messages import PeerDataMessage
from proxystore.p2p.relay.messages import RelayMessage
from proxystore.p2p.relay.messages import RelayMessageDecodeError
from proxystore.p2p.relay.messages import RelayMessageEncodeError
from proxystore.p2p.relay.messages import RelayMessageType
from proxystore.p2p.relay.messages import RelayRegistrationRequest
from proxystore.p2p.relay.messages import RelayResponse
from proxystore.p2p.relay.messages import decode_relay_message
from proxystore.p2p.relay.messages import encode_relay_message
from proxystore.p2p.relay.messages import features_message
from proxystore.p2p.relay.messages import parse_features
from proxystore.p2p.relay.messages import str_to_uuid
from proxystore.p2p.relay.messages import uuid_to_str

A = uuid.UUID('0b7e8a4c-7cc9-4a83-9a0b-2f1e0f1f6f4a')
B = uuid.UUID('5a1d7c0e-21b8-4f5c-8d53-6f1c5f9f3e21')


def frame(**fields: object) -> str:
    return json.dumps(fields)


def test_message_types_are_upstream_plus_peer_data() -> None:
    assert {m.name: m.value for m in RelayMessageType} == {
        'relay_response': 'RelayResponse',
        'relay_registration': 'RelayRegistrationRequest',
        'peer_connection': 'PeerConnectionRequest',
        'peer_data': 'PeerDataMessage',
    }


def test_wire_format_matches_upstream_field_order() -> None:
    frames = {
        'registration': RelayRegistrationRequest('a', A),
        'response': RelayResponse(),
        'peer': PeerConnectionRequest(A, 'a', B, 'offer', '{"sdp": ""}'),
        'data': PeerDataMessage(A, B, 'aGk='),
    }
    encoded = {
        k: json.loads(encode_relay_message(v)) for k, v in frames.items()
    }
    assert list(encoded['registration'].items()) == [
        ('name', 'a'),
        ('uuid', str(A)),
        ('message_type', 'relay_registration'),
    ]
    assert encoded['response'] == {
        'success': True,
        'message': None,
        'error': False,
        'message_type': 'relay_response',
    }
    assert list(encoded['peer']) == [
        'source_uuid',
        'source_name',
        'peer_uuid',
        'description_type',
        'description',
        'error',
        'message_type',
    ]
    assert encoded['data'] == {
        'source_uuid': str(A),
        'peer_uuid': str(B),
        'data': 'aGk=',
        'error': None,
        'message_type': 'peer_data',
    }
    for message in frames.values():
        assert decode_relay_message(encode_relay_message(message)) == message


def test_decodes_an_upstream_frame() -> None:
    frame = (
        f'{{"source_uuid": "{A}", "source_name": "x", "peer_uuid": "{B}", '
        '"description_type": "answer", "description": "d", "error": null, '
        '"message_type": "peer_connection"}'
    )
    message = decode_relay_message(frame)
    assert message == PeerConnectionRequest(A, 'x', B, 'answer', 'd')


@pytest.mark.parametrize(
    ('frame', 'error'),
    [
        ('not json', 'Failed to load string as JSON'),
        ('[1, 2]', 'not a JSON object'),
        ('{"name": "a"}', 'does not contain a message_type key'),
        (
            '{"message_type": "peer_data", "message_type": "peer_data"}',
            'duplicate keys',
        ),
        ('{"message_type": "RelayResponse"}', 'unknown message type'),
        ('{"message_type": ["x"]}', 'unknown message type'),
        (
            '{"message_type": "relay_registration", "name": "a"}',
            'Failed to convert message to RelayRegistrationRequest',
        ),
        (
            frame(
                message_type='relay_registration',
                name='a',
                uuid=str(A),
                extra=1,
            ),
            'Failed to convert message to RelayRegistrationRequest',
        ),
        (
            frame(message_type='relay_registration', name=5, uuid=str(A)),
            'field name has the wrong type',
        ),
        (
            '{"message_type": "relay_registration", "name": "a", '
            '"uuid": "nope"}',
            'Failed to convert key uuid to UUID',
        ),
        (
            '{"message_type": "relay_registration", "name": "a", "uuid": 5}',
            'Failed to convert key uuid to UUID',
        ),
        (
            frame(
                message_type='peer_connection',
                source_uuid=str(A),
                source_name='a',
                peer_uuid=str(B),
                description_type='pranswer',
                description='',
            ),
            'field description_type has the wrong type',
        ),
        (
            frame(
                message_type='peer_data',
                source_uuid=str(A),
                peer_uuid=str(B),
                data=7,
            ),
            'field data has the wrong type',
        ),
    ],
)
def test_decode_errors_are_clear(frame: str, error: str) -> None:
    with pytest.raises(RelayMessageDecodeError, match=error):
        decode_relay_message(frame)


def test_encode_errors() -> None:
    with pytest.raises(RelayMessageEncodeError, match='not an instance'):
        encode_relay_message({'name': 'a'})  # type: ignore[arg-type]
    with pytest.raises(RelayMessageEncodeError, match='not an instance'):
        encode_relay_message(RelayMessage)  # type: ignore[arg-type]
    bad = RelayResponse(message=object())  # type: ignore[arg-type]
    with pytest.raises(RelayMessageEncodeError, match='JSON'):
        encode_relay_message(bad)


def test_uuid_conversions_are_shallow_copies() -> None:
    data = {'UUID': A, 'peer_uuid': B, 'other': A, 'nested': {'uuid': A}}
    as_str = uuid_to_str(data)
    assert as_str == {
        'UUID': str(A),
        'peer_uuid': str(B),
        'other': A,
        'nested': {'uuid': A},
    }
    assert data['UUID'] is A
    back = str_to_uuid({'UUID': str(A), 'name': 'x'})
    assert back == {'UUID': A, 'name': 'x'}


def test_features_round_trip() -> None:
    assert features_message(('peer_data',)) == 'features=peer_data'
    assert parse_features('features=peer_data') == {'peer_data'}
    assert parse_features('features=a,b,') == {'a', 'b'}
    assert parse_features(None) == frozenset()
    assert parse_features('registered') == frozenset()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=8,
)


@settings(max_examples=150, deadline=None)
@given(
    st.text()
    | st.dictionaries(
        st.sampled_from(
            [
                'message_type',
                'name',
                'uuid',
                'source_uuid',
                'peer_uuid',
                'data',
                'error',
                'success',
                'message',
                'description',
                'description_type',
                'source_name',
            ],
        ),
        json_values
        | st.sampled_from(
            [m.name for m in RelayMessageType] + [str(A), 'offer'],
        ),
    ).map(json.dumps),
)
def test_decode_fails_only_with_decode_errors(frame: str) -> None:
    try:
        message = decode_relay_message(frame)
    except RelayMessageDecodeError:
        return
    # Anything accepted encodes again and round-trips.
    assert decode_relay_message(encode_relay_message(message)) == message
