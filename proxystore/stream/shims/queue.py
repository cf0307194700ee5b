"""Publisher and subscriber over Python queues.

Works with [`queue.Queue`][queue.Queue] (threads of one process) and
[`multiprocessing`][multiprocessing] queues (processes of one host). Each
topic has its own queue; every message is received by exactly one
subscriber of that queue.
"""

from __future__ import annotations

import queue as queue_module
from collections.abc import Mapping
from typing import Any
from typing import Protocol

from proxystore.stream.shims import IterableSubscriber


class QueueEmptyError(queue_module.Empty, TimeoutError):
    """No message arrived in the queue in time.

    Both a [`queue.Empty`][queue.Empty] and a `TimeoutError`.
    """


class QueueLike(Protocol):
    """The part of the queue interface the shims use."""

    def put(
        self,
        item: Any,
        block: bool = ...,
        timeout: float | None = ...,
    ) -> None:
        """Put an item in the queue."""
        ...

    def get(self, block: bool = ..., timeout: float | None = ...) -> Any:
        """Remove and return an item from the queue."""
        ...


class QueuePublisher:
    """Publisher that puts messages in the queue of their topic.

    Args:
        queues: Queue of each topic.
        block: Wait for a free slot in a full queue.
        timeout: Seconds to wait for a free slot (`None`: forever). If none
            frees up, [`queue.Full`][queue.Full] is raised.
    """

    def __init__(
        self,
        queues: Mapping[str, QueueLike],
        *,
        block: bool = True,
        timeout: float | None = None,
    ) -> None:
        self.queues = dict(queues)
        self.block = block
        self.timeout = timeout

    def __repr__(self) -> str:
        return f'{type(self).__name__}(topics={list(self.queues)!r})'

    def send_message(self, topic: str, message: bytes) -> None:
        """Put a message in the queue of the topic.

        Raises:
            ValueError: If there is no queue for the topic.
            queue.Full: If the queue stayed full (see `block`, `timeout`).
        """
        try:
            queue = self.queues[topic]
        except KeyError:
            raise ValueError(f'Unknown topic "{topic}".') from None
        queue.put(message, block=self.block, timeout=self.timeout)

    def close(self) -> None:
        """Close the multiprocessing queues (other queues need no closing).

        A closed multiprocessing queue refuses new messages; the messages
        already in it still reach its subscribers.
        """
        for queue in self.queues.values():
            close = getattr(queue, 'close', None)
            if callable(close):
                close()


class QueueSubscriber(IterableSubscriber):
    """Subscriber that takes messages from a queue.

    Args:
        queue: Queue the publisher puts the topic's messages in.
        block: Wait for a message if the queue is empty.
        timeout: Seconds to wait for a message (`None`: forever).
    """

    def __init__(
        self,
        queue: QueueLike,
        *,
        block: bool = True,
        timeout: float | None = None,
    ) -> None:
        self.queue = queue
        self.block = block
        self.timeout = timeout

    def __repr__(self) -> str:
        return f'{type(self).__name__}(queue={self.queue!r})'

    def next_message(self) -> bytes:
        """Take the next message from the queue.

        Raises:
            StopIteration: If the (multiprocessing) queue was closed.
            QueueEmptyError: If no message arrived in time (see `block`,
                `timeout`); it is both a `queue.Empty` and a
                `TimeoutError`.
        """
        try:
            message: bytes = self.queue.get(
                block=self.block,
                timeout=self.timeout,
            )
        except ValueError:
            # A closed multiprocessing queue.
            raise StopIteration from None
        except queue_module.Empty:
            raise QueueEmptyError(
                'No message arrived in the queue'
                + (f' within {self.timeout} s.' if self.block else '.'),
            ) from None
        return message

    def close(self) -> None:
        """Do nothing: the queue belongs to the caller (and its publisher)."""
