"""Errors raised by stream producers, consumers and event encoding."""

from __future__ import annotations


class StreamError(Exception):
    """Base class of the errors of `proxystore.stream`."""


class EventEncodeError(StreamError, TypeError):
    """An event (its key, metadata, store config or object) is not encodable.

    Events travel as JSON: metadata and inline objects must be JSON
    values, keys must be (nested) named tuples of JSON scalars.
    """


class EventDecodeError(StreamError, ValueError):
    """A message is not a valid encoded event."""


class NoStoreForTopicError(StreamError, ValueError):
    """A producer has no store for a topic (and no default store)."""


class StreamClosedError(StreamError, RuntimeError):
    """The producer or consumer was already closed."""
