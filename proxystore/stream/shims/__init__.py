"""Publishers and subscribers for common message brokers.

Each module implements the
[`MessagePublisher`][proxystore.stream.protocols.MessagePublisher] and
[`MessageSubscriber`][proxystore.stream.protocols.MessageSubscriber]
protocols for one
kind of broker; its third-party client is only imported with the module.
"""

from __future__ import annotations

import abc
from typing import TypeVar

_S = TypeVar('_S', bound='IterableSubscriber')


class IterableSubscriber(abc.ABC):
    """Base of the shim subscribers: iterating calls `next_message()`."""

    def __iter__(self: _S) -> _S:
        return self

    def __next__(self) -> bytes:
        return self.next_message()

    @abc.abstractmethod
    def next_message(self) -> bytes:
        """Wait for and return the next message."""
        ...

    @abc.abstractmethod
    def close(self) -> None:
        """Close the subscriber."""
        ...
