"""Publisher and subscriber over ZeroMQ PUB/SUB sockets (pyzmq).

The publisher binds an address, subscribers connect to it. Like every
PUB/SUB socket pair, a subscriber only receives messages published after
its subscription reached the publisher (the "slow joiner" problem):
[`ZeroMQPublisher.wait_for_subscribers()`][proxystore.stream.shims.zmq.ZeroMQPublisher.wait_for_subscribers]
waits until that happened, so no message is lost at the start.

Each message is two frames: the topic (UTF-8) and the event bytes.
Sockets are not thread-safe: use each shim from one thread at a time (a
[`StreamProducer`][proxystore.stream.producer.StreamProducer] serializes
its calls to the publisher).
"""

from __future__ import annotations

import collections
import time

import zmq

from proxystore.stream.shims import IterableSubscriber

_SUBSCRIBE = 1
_UNSUBSCRIBE = 0


def _poll_ms(deadline: float | None) -> int | None:
    """Milliseconds left until `deadline` (`None`: wait forever)."""
    if deadline is None:
        return None
    return max(0, round((deadline - time.monotonic()) * 1000))


class ZeroMQPublisher:
    """Publisher on a ZeroMQ publish socket.

    Example:
        ```python
        from proxystore.stream.shims.zmq import ZeroMQPublisher
        from proxystore.stream.shims.zmq import ZeroMQSubscriber

        publisher = ZeroMQPublisher('tcp://127.0.0.1:*')  # any free port
        subscriber = ZeroMQSubscriber(publisher.address, 'topic')
        publisher.wait_for_subscribers('topic', timeout=10)
        publisher.send_message('topic', b'hello')
        assert subscriber.next_message() == b'hello'
        subscriber.close()
        publisher.close()
        ```

    Args:
        address: Address to bind (e.g., `tcp://127.0.0.1:5555`; a port of
            `*` picks a free port, see `address`).
        linger: Seconds `close()` waits for queued messages to be sent.
    """

    def __init__(self, address: str, *, linger: float = 5.0) -> None:
        self.linger = linger
        self._context = zmq.Context()
        # XPUB is a PUB socket that also reports subscriptions (verbose:
        # every subscriber's, not only the first of each topic).
        self._socket = self._context.socket(zmq.XPUB)
        self._socket.setsockopt(zmq.XPUB_VERBOSE, 1)
        try:
            self._socket.bind(address)
        except zmq.ZMQError:
            self._socket.close(linger=0)
            self._context.term()
            raise
        self.address: str = self._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        """Address the socket is bound to (with the actual port)."""
        self._subscribers: collections.Counter[str] = collections.Counter()

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.address!r})'

    def send_message(self, topic: str, message: bytes) -> None:
        """Publish a message to the subscribers of the topic."""
        self._socket.send_multipart([topic.encode(), message])

    def wait_for_subscribers(
        self,
        topic: str,
        count: int = 1,
        *,
        timeout: float | None = None,
    ) -> None:
        """Wait until `count` subscribers subscribed to the topic.

        Once this returns, those subscribers receive every message
        published from then on.

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
        """Close the socket (after up to `linger` seconds of sending)."""
        self._socket.close(linger=round(self.linger * 1000))
        self._context.term()


class ZeroMQSubscriber(IterableSubscriber):
    """Subscriber to a topic of a ZeroMQ publisher.

    Args:
        address: Address the publisher is bound to.
        topic: Topic to subscribe to (only messages of exactly this topic
            are returned, although ZeroMQ matches prefixes).
        timeout: Seconds `next_message()` waits (`None`: forever).
    """

    def __init__(
        self,
        address: str,
        topic: str,
        *,
        timeout: float | None = None,
    ) -> None:
        self.address = address
        self.topic = topic
        self.timeout = timeout
        self._topic = topic.encode()
        self._context = zmq.Context()
        self._socket = self._context.socket(zmq.SUB)
        self._socket.setsockopt(zmq.SUBSCRIBE, self._topic)
        try:
            self._socket.connect(address)
        except zmq.ZMQError:
            self.close()
            raise

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.address!r}, topic={self.topic!r})'

    def next_message(self) -> bytes:
        """Wait for the next message of the topic.

        Raises:
            TimeoutError: If no message arrived within `timeout` seconds.
        """
        deadline = (
            None if self.timeout is None else time.monotonic() + self.timeout
        )
        while True:
            if not self._socket.poll(_poll_ms(deadline)):
                raise TimeoutError(
                    f'No message on topic {self.topic!r} within '
                    f'{self.timeout} s.',
                )
            frames = self._socket.recv_multipart()
            if len(frames) == 2 and frames[0] == self._topic:
                return frames[1]

    def close(self) -> None:
        """Close the socket, dropping messages not received yet."""
        self._socket.close(linger=0)
        self._context.term()
