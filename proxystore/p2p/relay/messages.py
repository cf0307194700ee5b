"""Messages exchanged between relay clients and the relay server.

Every message is one websocket text frame holding the JSON object of a
dataclass (`dataclasses.asdict`) with UUIDs as strings. The
`message_type` field holds the *name* of the `RelayMessageType` member
(for example `'relay_registration'`), which is how the receiver knows
which dataclass to build.

`PeerDataMessage` (`'peer_data'`) is an extension of this implementation:
a relay that supports it says so by answering a registration with
`RelayResponse(message='features=peer_data')`.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
import uuid
from collections.abc import Mapping
from typing import Any
from typing import Literal
from uuid import UUID

PEER_DATA_FEATURE = 'peer_data'
"""Feature name a relay advertises when it forwards `PeerDataMessage`."""

FEATURES_PREFIX = 'features='
"""Prefix of the registration `RelayResponse.message` listing features."""


class RelayMessageType(enum.Enum):
    """Types of relay messages: the member name goes on the wire."""

    relay_response = 'RelayResponse'
    """A `RelayResponse`."""
    relay_registration = 'RelayRegistrationRequest'
    """A `RelayRegistrationRequest`."""
    peer_connection = 'PeerConnectionRequest'
    """A `PeerConnectionRequest`."""
    peer_data = 'PeerDataMessage'
    """A `PeerDataMessage` (extension: relayed peer data)."""


@dataclasses.dataclass
class RelayMessage:
    """Base class of every relay message."""


@dataclasses.dataclass
class RelayRegistrationRequest(RelayMessage):
    """The first message a client sends: who it is.

    Attributes:
        name: Human-readable name of the client.
        uuid: UUID the client registers under.
    """

    name: str
    uuid: UUID
    message_type: str = RelayMessageType.relay_registration.name


@dataclasses.dataclass
class RelayResponse(RelayMessage):
    """The relay's answer to a registration or to a bad request.

    Attributes:
        success: Whether the request succeeded.
        message: Detail text; on a successful registration with this
            implementation, `'features=peer_data'`.
        error: Whether the response reports an error.
    """

    success: bool = True
    message: str | None = None
    error: bool = False
    message_type: str = RelayMessageType.relay_response.name


@dataclasses.dataclass
class PeerConnectionRequest(RelayMessage):
    """A WebRTC session description sent to a peer through the relay.

    Attributes:
        source_uuid: UUID of the sender.
        source_name: Name of the sender.
        peer_uuid: UUID of the recipient.
        description_type: `'offer'` or `'answer'`.
        description: The serialized session description.
        error: Set by the relay when it could not forward the message (the
            message is then sent back to the sender).
    """

    source_uuid: UUID
    source_name: str
    peer_uuid: UUID
    description_type: Literal['answer', 'offer']
    description: str
    error: str | None = None
    message_type: str = RelayMessageType.peer_connection.name


@dataclasses.dataclass
class PeerDataMessage(RelayMessage):
    """One chunk of peer data relayed when a direct connection fails.

    An extension of this implementation; only relays that advertise the
    `peer_data` feature forward it.

    Attributes:
        source_uuid: UUID of the sender.
        peer_uuid: UUID of the recipient.
        data: Base64 text of one chunk.
        error: Set by the relay when it could not forward the message (the
            message is then sent back to the sender).
    """

    source_uuid: UUID
    peer_uuid: UUID
    data: str
    error: str | None = None
    message_type: str = RelayMessageType.peer_data.name


_MESSAGE_CLASSES: dict[str, type[RelayMessage]] = {
    cls.__name__: cls
    for cls in (
        RelayResponse,
        RelayRegistrationRequest,
        PeerConnectionRequest,
        PeerDataMessage,
    )
}


_FIELD_TYPES: dict[type[RelayMessage], dict[str, Any]] = {
    cls: typing.get_type_hints(cls) for cls in _MESSAGE_CLASSES.values()
}


class RelayMessageError(Exception):
    """Base class for message encoding and decoding errors."""


class RelayMessageDecodeError(RelayMessageError):
    """A frame is not a valid relay message."""


class RelayMessageEncodeError(RelayMessageError):
    """An object cannot be encoded as a relay message."""


def uuid_to_str(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of `data` with `UUID` values under uuid keys as str.

    A key counts as a uuid key if it contains `'uuid'` in any case.
    """
    return {
        key: (
            str(value)
            if 'uuid' in key.lower() and isinstance(value, UUID)
            else value
        )
        for key, value in data.items()
    }


def str_to_uuid(data: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of `data` with the values under uuid keys as `UUID`.

    Raises:
        RelayMessageDecodeError: If a value under a uuid key is not a
            valid UUID string.
    """
    result = dict(data)
    for key, value in data.items():
        if 'uuid' in key.lower():
            try:
                result[key] = uuid.UUID(value)
            except (AttributeError, TypeError, ValueError) as e:
                raise RelayMessageDecodeError(
                    f'Failed to convert key {key} to UUID.',
                ) from e
    return result


def _matches(value: Any, annotation: Any) -> bool:
    # Checks a decoded JSON value against a field annotation made of
    # str, bool, UUID, None, Literal and unions of those.
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_matches(value, a) for a in typing.get_args(annotation))
    if origin is Literal:
        return value in typing.get_args(annotation)
    if annotation is type(None):
        return value is None
    if annotation is bool:
        return isinstance(value, bool)
    return isinstance(value, annotation)


def _check_fields(cls: type[RelayMessage], data: Mapping[str, Any]) -> None:
    hints = _FIELD_TYPES[cls]
    for key, value in data.items():
        annotation = hints.get(key)
        if annotation is not None and not _matches(value, annotation):
            raise RelayMessageDecodeError(
                f'Failed to convert message to {cls.__name__}: field '
                f'{key} has the wrong type ({type(value).__name__}).',
            )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        # Parsers disagree on which duplicate wins: refuse them.
        raise RelayMessageDecodeError('Message has duplicate keys.')
    return data


def decode_relay_message(message: str) -> RelayMessage:
    """Decode one websocket text frame into a relay message.

    Raises:
        RelayMessageDecodeError: If the frame is not JSON, has duplicate
            keys, has no or an unknown `message_type`, has a malformed
            UUID, or has missing, unexpected or mistyped fields.
    """
    try:
        data = json.loads(message, object_pairs_hook=_unique_keys)
    except (TypeError, ValueError) as e:
        raise RelayMessageDecodeError('Failed to load string as JSON.') from e
    if not isinstance(data, dict):
        raise RelayMessageDecodeError('Message is not a JSON object.')
    try:
        type_name = data.pop('message_type')
    except KeyError:
        raise RelayMessageDecodeError(
            'Message does not contain a message_type key.',
        ) from None
    try:
        message_type = RelayMessageType[type_name]
    except (KeyError, TypeError):
        raise RelayMessageDecodeError(
            f'Message has an unknown message type: {type_name!r}.',
        ) from None
    cls = _MESSAGE_CLASSES[message_type.value]
    data = str_to_uuid(data)
    _check_fields(cls, data)
    try:
        return cls(**data)
    except TypeError as e:
        raise RelayMessageDecodeError(
            f'Failed to convert message to {cls.__name__}: {e}',
        ) from e


def encode_relay_message(message: RelayMessage) -> str:
    """Encode a relay message as one websocket text frame.

    Raises:
        RelayMessageEncodeError: If `message` is not a `RelayMessage` or
            holds values JSON cannot encode.
    """
    if not isinstance(message, RelayMessage) or not dataclasses.is_dataclass(
        message,
    ):
        raise RelayMessageEncodeError(
            'Message is not an instance of RelayMessage.',
        )
    # Messages are flat, so a shallow dict equals `dataclasses.asdict`
    # without its deep copies.
    data = uuid_to_str(
        {
            f.name: getattr(message, f.name)
            for f in dataclasses.fields(message)
        },
    )
    try:
        return json.dumps(data)
    except (TypeError, ValueError) as e:
        raise RelayMessageEncodeError(
            f'Failed to encode message as JSON: {e}',
        ) from e


def features_message(features: tuple[str, ...]) -> str:
    """Return the registration response text advertising `features`."""
    return FEATURES_PREFIX + ','.join(features)


def parse_features(message: str | None) -> frozenset[str]:
    """Return the features a registration `RelayResponse.message` lists.

    An upstream relay sends no message, which gives an empty set.
    """
    if message is None or not message.startswith(FEATURES_PREFIX):
        return frozenset()
    text = message[len(FEATURES_PREFIX) :]
    return frozenset(f for f in text.split(',') if f)
