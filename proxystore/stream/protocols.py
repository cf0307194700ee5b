"""Interfaces between stream producers/consumers and message brokers.

A [`MessagePublisher`][proxystore.stream.protocols.MessagePublisher] sends
messages (encoded event batches, `bytes`) to a topic; a
[`MessageSubscriber`][proxystore.stream.protocols.MessageSubscriber] is an
iterator of the messages of the topics it subscribed to. The shims in
`proxystore.stream.shims` implement them for common brokers; any object
with these methods works.

The event-level variants let a broker client exchange
[`EventBatch`][proxystore.stream.events.EventBatch] objects directly
(e.g., to use its own encoding): a producer given an
[`EventPublisher`][proxystore.stream.protocols.EventPublisher] calls
`send_events()` instead of encoding messages, and a consumer given an
[`EventSubscriber`][proxystore.stream.protocols.EventSubscriber] calls
`next_events()`.
"""

from __future__ import annotations

import sys
from typing import Any
from typing import Protocol
from typing import Union
from typing import runtime_checkable

from proxystore.stream.events import EventBatch

if sys.version_info >= (3, 11):  # pragma: >=3.11 cover
    from typing import Self
else:  # pragma: <3.11 cover
    from typing_extensions import Self

__all__ = [
    'EventBatch',
    'EventPublisher',
    'EventSubscriber',
    'Filter',
    'MessagePublisher',
    'MessageSubscriber',
    'Publisher',
    'Subscriber',
]


@runtime_checkable
class EventPublisher(Protocol):
    """Sends batches of event objects to a message broker."""

    def close(self) -> None:
        """Close the publisher."""
        ...

    def send_events(self, events: EventBatch) -> None:
        """Publish a batch of events (of the batch's topic)."""
        ...


@runtime_checkable
class EventSubscriber(Protocol):
    """Iterator of the batches of event objects from a message broker."""

    def __iter__(self) -> Self:
        """Return the iterator (usually `self`)."""
        ...

    def __next__(self) -> EventBatch:
        """Wait for and return the next batch of events."""
        ...

    def close(self) -> None:
        """Close the subscriber."""
        ...

    def next_events(self) -> EventBatch:
        """Wait for and return the next batch of events."""
        ...


@runtime_checkable
class MessagePublisher(Protocol):
    """Sends messages to topics of a message broker."""

    def close(self) -> None:
        """Close the publisher (and its connection to the broker)."""
        ...

    def send_message(self, topic: str, message: bytes) -> None:
        """Publish a message to a topic."""
        ...


@runtime_checkable
class MessageSubscriber(Protocol):
    """Iterator of the messages published to the subscribed topics."""

    def __iter__(self) -> Self:
        """Return the iterator (usually `self`)."""
        ...

    def __next__(self) -> bytes:
        """Wait for and return the next message."""
        ...

    def close(self) -> None:
        """Close the subscriber (and its connection to the broker)."""
        ...

    def next_message(self) -> bytes:
        """Wait for and return the next message."""
        ...


Publisher = Union['EventPublisher', 'MessagePublisher']  # noqa: UP007
"""What a producer publishes through."""

Subscriber = Union['EventSubscriber', 'MessageSubscriber']  # noqa: UP007
"""What a consumer receives from."""


class Filter(Protocol):
    """Callable deciding whether to drop an object, given its metadata."""

    def __call__(self, metadata: dict[str, Any]) -> bool:
        """Return `True` to drop the object, `False` to keep it."""
        ...
