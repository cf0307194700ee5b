"""Errors raised by stream producers, consumers and event encoding."""

from __future__ import annotations


class StreamError(Exception):
    """Base class of the errors of `proxystore.stream`."""


class TopicClosedError(StreamError):
    """A producer was asked to send to a topic it has already closed."""


class EventEncodeError(StreamError, TypeError):
    """An event (its key, metadata, store config or object) is not encodable.

    Events travel as JSON (with tags for tuples, bytes, sets, dictionaries
    with non-string keys and non-finite floats): metadata and inline
    objects must be made of those values, keys must be named tuples of a
    registered connector's module.
    """


class EventDecodeError(StreamError, ValueError):
    """A message is not a valid encoded event, or names a refused class."""


class StreamClosedError(StreamError, RuntimeError):
    """The producer or consumer was already closed."""
