"""Publisher and subscriber over Apache Kafka (confluent-kafka).

The shims wrap a `confluent_kafka.Producer` / `confluent_kafka.Consumer`
that you create and configure (brokers, security, consumer group, ...);
the consumer must already be subscribed to its topics. confluent-kafka is
not imported by this module (install it with `pip install confluent-kafka`
or the `kafka` extra).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from typing import Any

from proxystore.stream.exceptions import StreamError
from proxystore.stream.shims import IterableSubscriber

if TYPE_CHECKING:
    import confluent_kafka

# Longest single poll, so that a waiting caller can be interrupted.
_POLL_SLICE_S = 1.0


class KafkaDeliveryError(StreamError):
    """Messages were not delivered to the Kafka cluster."""


class KafkaPublisher:
    """Publisher producing messages to Kafka topics.

    Kafka delivers asynchronously: delivery failures are collected and
    reported by `close()`, which waits for outstanding messages.

    Args:
        client: Kafka producer.
        flush_timeout: Seconds `close()` waits for outstanding messages
            (and `send_message()` for room in a full local queue).
    """

    def __init__(
        self,
        client: confluent_kafka.Producer,
        *,
        flush_timeout: float = 10.0,
    ) -> None:
        self.client = client
        self.flush_timeout = flush_timeout
        self.delivery_errors: list[str] = []
        """Errors of failed deliveries (reported by `close()`)."""

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.client!r})'

    def _on_delivery(self, error: Any, message: Any) -> None:
        if error is not None:
            self.delivery_errors.append(f'topic {message.topic()!r}: {error}')

    def send_message(self, topic: str, message: bytes) -> None:
        """Queue a message for delivery to the topic.

        Raises:
            BufferError: If the local queue stayed full for
                `flush_timeout` seconds.
        """
        deadline = time.monotonic() + self.flush_timeout
        while True:
            try:
                self.client.produce(
                    topic,
                    message,
                    on_delivery=self._on_delivery,
                )
                break
            except BufferError:
                if time.monotonic() >= deadline:
                    raise
                self.client.poll(0.1)
        # Serve delivery callbacks of earlier messages.
        self.client.poll(0)

    def close(self) -> None:
        """Wait for outstanding messages (up to `flush_timeout` seconds).

        Raises:
            KafkaDeliveryError: If messages are still undelivered or some
                deliveries failed.
        """
        undelivered = self.client.flush(self.flush_timeout)
        problems = list(self.delivery_errors)
        if undelivered:
            problems.append(
                f'{undelivered} messages still queued after '
                f'{self.flush_timeout} s',
            )
        if problems:
            raise KafkaDeliveryError(
                'Messages were not delivered to Kafka: ' + '; '.join(problems),
            )


class KafkaSubscriber(IterableSubscriber):
    """Subscriber consuming messages from Kafka topics.

    Args:
        client: Kafka consumer, already subscribed to its topics.
        timeout: Seconds `next_message()` waits (`None`: forever).
    """

    def __init__(
        self,
        client: confluent_kafka.Consumer,
        *,
        timeout: float | None = None,
    ) -> None:
        self.client = client
        self.timeout = timeout

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.client!r})'

    def next_message(self) -> bytes:
        """Wait for the next message.

        Raises:
            TimeoutError: If no message arrived within `timeout` seconds.
            confluent_kafka.KafkaException: If the consumer reports an error
                (other than reaching the end of a partition).
        """
        deadline = (
            None if self.timeout is None else time.monotonic() + self.timeout
        )
        while True:
            poll = _POLL_SLICE_S
            if deadline is not None:
                poll = min(poll, deadline - time.monotonic())
                if poll <= 0:
                    raise TimeoutError(
                        f'No Kafka message within {self.timeout} s.',
                    )
            message = self.client.poll(poll)
            if message is None:
                continue
            error = message.error()
            if error is not None:
                import confluent_kafka

                if error.code() == confluent_kafka.KafkaError._PARTITION_EOF:
                    continue
                raise confluent_kafka.KafkaException(error)
            value = message.value()
            if value is not None:
                return bytes(value)

    def close(self) -> None:
        """Close the consumer (leaving its group)."""
        self.client.close()
