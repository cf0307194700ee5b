"""Interfaces between stream producers/consumers and message brokers.

A [`Publisher`][proxystore.stream.protocols.Publisher] sends messages
(encoded events, `bytes`) to a topic; a
[`Subscriber`][proxystore.stream.protocols.Subscriber] is an iterator of
the messages of the topics it subscribed to. The shims in
`proxystore.stream.shims` implement them for common brokers; any object
with these methods works.

The event-level variants let a broker client exchange event objects
directly (e.g., to use its own encoding): a producer given an
[`EventPublisher`][proxystore.stream.protocols.EventPublisher] calls
`send_events()` instead of encoding messages, and a consumer given an
[`EventSubscriber`][proxystore.stream.protocols.EventSubscriber] calls
`next_events()`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol
from typing import runtime_checkable

from proxystore.stream.events import Event


@runtime_checkable
class Publisher(Protocol):
    """Sends messages to topics of a message broker."""

    def send_message(self, topic: str, message: bytes) -> None:
        """Publish a message to a topic."""
        ...

    def close(self) -> None:
        """Close the publisher (and its connection to the broker)."""
        ...


@runtime_checkable
class Subscriber(Protocol):
    """Iterator of the messages published to the subscribed topics.

    Iteration ends (`StopIteration`) only if the subscriber is closed or
    the broker ends the subscription.
    """

    def __iter__(self) -> Iterator[bytes]:
        """Return the iterator of messages (usually `self`)."""
        ...

    def __next__(self) -> bytes:
        """Wait for and return the next message."""
        ...

    def next_message(self) -> bytes:
        """Wait for and return the next message."""
        ...

    def close(self) -> None:
        """Close the subscriber (and its connection to the broker)."""
        ...


@runtime_checkable
class EventPublisher(Protocol):
    """Sends event objects to a message broker."""

    def send_events(self, *events: Event) -> None:
        """Publish events, in order (each knows its topic)."""
        ...

    def close(self) -> None:
        """Close the publisher."""
        ...


@runtime_checkable
class EventSubscriber(Protocol):
    """Receives event objects from a message broker."""

    def next_events(self) -> Event:
        """Wait for and return the next event (possibly a batch)."""
        ...

    def close(self) -> None:
        """Close the subscriber."""
        ...
