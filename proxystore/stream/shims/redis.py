"""Publishers and subscribers over Redis (redis-py).

Two flavours:

- **Pub/sub** (`RedisPublisher`, `RedisSubscriber`): every subscriber
  of a channel gets every message published *while it is subscribed*;
  nothing is kept for absent subscribers.
- **Queues** (`RedisQueuePublisher`, `RedisQueueSubscriber`): a topic is a
  Redis list named after it; messages wait in the list until one
  subscriber pops each of them.

Extra keyword arguments are passed to `redis.StrictRedis`; do not
set `decode_responses=True` (messages are bytes).
"""

from __future__ import annotations

import collections
import time
from collections.abc import Sequence
from typing import Any

import redis

from proxystore.stream.shims import IterableSubscriber

_SUBSCRIBE_TIMEOUT_S = 10.0


def _remaining(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


class _RedisClient:
    """A connection to a Redis server, closed by `close()`.

    Args:
        hostname: Redis server hostname.
        port: Redis server port.
        kwargs: Extra arguments of [`redis.Redis`][redis.Redis].
    """

    def __init__(self, hostname: str, port: int, **kwargs: Any) -> None:
        self.hostname = hostname
        self.port = port
        self._redis = redis.StrictRedis(host=hostname, port=port, **kwargs)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.hostname!r}, {self.port})'

    def close(self) -> None:
        """Close the connection to the server."""
        self._redis.close()


class _RedisSender(_RedisClient):
    """Sends each message with one Redis command naming the topic."""

    _command: str

    def send_message(self, topic: str, message: bytes) -> None:
        """Send a message to the topic."""
        self._redis.execute_command(  # type: ignore[no-untyped-call, unused-ignore]
            self._command,
            topic,
            message,
        )


class RedisPublisher(_RedisSender):
    """Publisher to Redis pub/sub channels (one per topic).

    `send_message` publishes to the channel named after the topic.

    Args:
        hostname: Redis server hostname.
        port: Redis server port.
        kwargs: Extra arguments of [`redis.Redis`][redis.Redis].
    """

    _command = 'PUBLISH'


class RedisSubscriber(_RedisClient, IterableSubscriber):
    """Subscriber to Redis pub/sub channels.

    The subscription is confirmed by the server before the constructor
    returns: every message published afterwards is received.

    Args:
        hostname: Redis server hostname.
        port: Redis server port.
        topic: Topic, or topics, to subscribe to.
        timeout: Seconds `next_message()` waits (`None`: forever).
        kwargs: Extra arguments of [`redis.Redis`][redis.Redis].

    Raises:
        TimeoutError: If the server did not confirm the subscription.
    """

    def __init__(
        self,
        hostname: str,
        port: int,
        topic: str | Sequence[str],
        *,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        self.topics = [topic] if isinstance(topic, str) else list(topic)
        if not self.topics:
            raise ValueError('Subscribe to at least one topic.')
        self.timeout = timeout
        super().__init__(hostname, port, **kwargs)
        self._pubsub = self._redis.pubsub()  # type: ignore[no-untyped-call, unused-ignore]
        # Messages of confirmed channels that arrive before the others are.
        self._early: collections.deque[bytes] = collections.deque()
        try:
            self._subscribe()
        except BaseException:
            self.close()
            raise

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}({self.hostname!r}, {self.port}, '
            f'topic={self.topics!r})'
        )

    def _subscribe(self) -> None:
        self._pubsub.subscribe(*self.topics)
        deadline = time.monotonic() + _SUBSCRIBE_TIMEOUT_S
        unconfirmed = set(self.topics)
        while unconfirmed:
            remaining = _remaining(deadline)
            if not remaining:
                raise TimeoutError(
                    f'Redis did not confirm the subscription to '
                    f'{sorted(unconfirmed)!r}.',
                )
            message = self._pubsub.get_message(timeout=remaining)
            if message is None:
                continue
            if message['type'] == 'subscribe':
                unconfirmed.discard(message['channel'].decode())
            elif message['type'] == 'message':
                self._early.append(message['data'])

    def next_message(self) -> bytes:
        """Wait for the next message published to the channels.

        Raises:
            TimeoutError: If no message arrived within `timeout` seconds.
        """
        if self._early:
            return self._early.popleft()
        deadline = (
            None if self.timeout is None else time.monotonic() + self.timeout
        )
        while True:
            remaining = _remaining(deadline)
            if remaining == 0:
                raise TimeoutError(
                    f'No message on {self.topics!r} within {self.timeout} s.',
                )
            # None blocks until a message arrives, as redis-py documents;
            # its annotations vary by release (redis 8 says `float`).
            message = self._pubsub.get_message(
                timeout=remaining,  # type: ignore[arg-type, unused-ignore]
            )
            if message is not None and message['type'] == 'message':
                data: bytes = message['data']
                return data

    def close(self) -> None:
        """Unsubscribe and close the connection to the server."""
        self._pubsub.close()
        super().close()


class RedisQueuePublisher(_RedisSender):
    """Publisher appending messages to Redis lists (one per topic).

    `send_message` appends to the list named after the topic.

    Args:
        hostname: Redis server hostname.
        port: Redis server port.
        kwargs: Extra arguments of [`redis.Redis`][redis.Redis].
    """

    _command = 'RPUSH'


class RedisQueueSubscriber(_RedisClient, IterableSubscriber):
    """Subscriber popping messages from a Redis list.

    Args:
        hostname: Redis server hostname.
        port: Redis server port.
        topic: Topic (name of the list).
        timeout: Seconds `next_message()` waits (`None`: forever; `0`:
            not at all).
        kwargs: Extra arguments of [`redis.Redis`][redis.Redis].
    """

    def __init__(
        self,
        hostname: str,
        port: int,
        topic: str,
        *,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        self.topic = topic
        self.timeout = timeout
        super().__init__(hostname, port, **kwargs)

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}({self.hostname!r}, {self.port}, '
            f'topic={self.topic!r})'
        )

    def next_message(self) -> bytes:
        """Pop the next message of the list, waiting for one if needed.

        Raises:
            TimeoutError: If no message arrived within `timeout` seconds.
        """
        message: Any
        if self.timeout == 0:
            message = self._redis.lpop(self.topic)
        else:
            # BLPOP waits forever with a timeout of 0.
            popped: Any = self._redis.blpop(
                [self.topic],
                timeout=self.timeout or 0,
            )
            message = None if popped is None else popped[1]
        if message is None:
            raise TimeoutError(
                f'No message in Redis list {self.topic!r} within '
                f'{self.timeout} s.',
            )
        return bytes(message)
