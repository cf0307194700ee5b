"""Publisher and subscriber over ZeroMQ PUB/SUB sockets (pyzmq).

The publisher binds `tcp://{address}:{port}`, subscribers connect to it.
Like every PUB/SUB socket pair, a subscriber only receives messages
published after its subscription reached the publisher (the "slow joiner"
problem):
[`ZeroMQPublisher.wait_for_subscribers()`][proxystore.stream.shims.zmq.ZeroMQPublisher.wait_for_subscribers]
waits until that happened, so no message is lost at the start.

Each message is two frames: the topic (UTF-8) and the event bytes.
Sockets are not thread-safe: use each shim from one thread at a time (a
[`StreamProducer`][proxystore.stream.producer.StreamProducer] serializes
its calls to the publisher).
"""

from __future__ import annotations

import collections
import logging
import time

import zmq

from proxystore.stream.shims import IterableSubscriber

logger = logging.getLogger(__name__)

_SUBSCRIBE = 1
_UNSUBSCRIBE = 0


def _poll_ms(deadline: float | None) -> int | None:
    """Milliseconds left until `deadline` (`None`: wait forever)."""
    if deadline is None:
        return None
    return max(0, round((deadline - time.monotonic()) * 1000))


class ZeroMQPublisher:
    """Publisher on a ZeroMQ publish socket bound to `tcp://address:port`.

    Example:
        ```python
        from proxystore.stream.shims.zmq import ZeroMQPublisher
        from proxystore.stream.shims.zmq import ZeroMQSubscriber

        publisher = ZeroMQPublisher('127.0.0.1', 0)  # 0: any free port
        subscriber = ZeroMQSubscriber('127.0.0.1', publisher.port)
        publisher.wait_for_subscribers('topic', timeout=10)
        publisher.send_message('topic', b'hello')
        assert subscriber.next_message() == b'hello'
        subscriber.close()
        publisher.close()
        ```

    Args:
        address: Address (interface) to bind.
        port: Port to bind (`0` picks a free port, see `port`).
        linger: Seconds `close()` waits for queued messages to be sent.
    """

    def __init__(
        self,
        address: str,
        port: int,
        *,
        linger: float = 5.0,
    ) -> None:
        self.address = address
        self.linger = linger
        self._context = zmq.Context()
        # XPUB is a PUB socket that also reports subscriptions (verbose:
        # every subscriber's, not only the first of each topic).
        self._socket = self._context.socket(zmq.XPUB)
        self._socket.setsockopt(zmq.XPUB_VERBOSE, 1)
        try:
            self._socket.bind(f'tcp://{address}:{port or "*"}')
        except zmq.ZMQError:
            self._context.destroy(linger=0)
            raise
        endpoint = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        self.port: int = int(endpoint.rpartition(':')[2])
        """Port the socket is bound to (the actual one if `port` was 0)."""
        self._subscribers: collections.Counter[str] = collections.Counter()
        logger.debug('ZeroMQ publisher bound to %s', endpoint)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.address!r}, {self.port})'

    def send_message(self, topic: str, message: bytes) -> None:
        """Publish a message to the subscribers of the topic."""
        self._socket.send_multipart((topic.encode(), message))

    def wait_for_subscribers(
        self,
        topic: str = '',
        count: int = 1,
        *,
        timeout: float | None = None,
    ) -> None:
        """Wait until `count` subscribers subscribed to the topic.

        A subscriber of all topics subscribes to `''`. Once this returns,
        those subscribers receive every message published from then on.

        Raises:
            TimeoutError: If fewer subscribers subscribed within `timeout`
                seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._subscribers[topic] < count:
            if not self._socket.poll(_poll_ms(deadline)):
                raise TimeoutError(
                    f'{self._subscribers[topic]} of {count} subscribers '
                    f'subscribed to {topic!r} within {timeout} s.',
                )
            frame = self._socket.recv()
            subscribed = frame[1:].decode(errors='replace')
            if frame[:1] == bytes([_SUBSCRIBE]):
                self._subscribers[subscribed] += 1
            elif frame[:1] == bytes([_UNSUBSCRIBE]):
                self._subscribers[subscribed] -= 1

    def close(self) -> None:
        """Destroy the context (after up to `linger` seconds of sending)."""
        self._context.destroy(linger=round(self.linger * 1000))


class ZeroMQSubscriber(IterableSubscriber):
    """Subscriber connected to a ZeroMQ publisher at `tcp://address:port`.

    ZeroMQ matches topics by prefix: the subscriber receives the messages
    of every topic that starts with `topic` (all topics for `''`).

    Args:
        address: Address the publisher is bound to.
        port: Port the publisher is bound to.
        topic: Topic prefix to subscribe to (`''`: every topic).
        timeout: Seconds `next_message()` waits (`None`: forever).
    """

    def __init__(
        self,
        address: str,
        port: int,
        *,
        topic: str = '',
        timeout: float | None = None,
    ) -> None:
        self.address = address
        self.port = port
        self.topic = topic
        self.timeout = timeout
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.SUB)
        self._socket.setsockopt(zmq.SUBSCRIBE, topic.encode())
        try:
            self._socket.connect(f'tcp://{address}:{port}')
        except zmq.ZMQError:
            self.close()
            raise

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}({self.address!r}, {self.port}, '
            f'topic={self.topic!r})'
        )

    def next_message(self) -> bytes:
        """Wait for the next message of the subscribed topics.

        Raises:
            TimeoutError: If no message arrived within `timeout` seconds.
        """
        if self.timeout is not None and not self._socket.poll(
            round(self.timeout * 1000),
        ):
            raise TimeoutError(
                f'No message on topic {self.topic!r} within {self.timeout} s.',
            )
        frames = self._socket.recv_multipart()
        if len(frames) != 2:  # noqa: PLR2004
            raise ValueError(
                f'Received a ZeroMQ message of {len(frames)} frame(s); '
                'stream messages have two (topic, event).',
            )
        message: bytes = frames[1]
        return message

    def close(self) -> None:
        """Destroy the context, dropping messages not received yet."""
        self._context.destroy(linger=0)
