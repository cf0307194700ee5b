"""Publisher and subscriber over Apache Kafka (confluent-kafka).

The shims wrap a `confluent_kafka.Producer` / `confluent_kafka.Consumer`
that you create and configure (brokers, security, consumer group, ...);
the consumer must already be subscribed to its topics. confluent-kafka is
not imported by this module (install it with `pip install confluent-kafka`
or the `kafka` extra).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxystore.stream.exceptions import StreamError
from proxystore.stream.shims import IterableSubscriber

if TYPE_CHECKING:
    import confluent_kafka


class KafkaDeliveryError(StreamError):
    """Messages were still undelivered when the flush timeout passed."""


class KafkaPublisher:
    """Publisher producing messages to Kafka topics.

    `send_message(topic, message)` calls `client.produce(topic, message)`
    and then `client.flush()`, so each message is delivered (or failed)
    when it returns.

    Args:
        client: Kafka producer.
        flush_timeout: Seconds each flush waits for outstanding messages
            (`None`: as long as it takes, like `client.flush()`).
    """

    def __init__(
        self,
        client: confluent_kafka.Producer,
        *,
        flush_timeout: float | None = None,
    ) -> None:
        self.client = client
        self.flush_timeout = flush_timeout

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.client!r})'

    def _flush(self) -> None:
        if self.flush_timeout is None:
            undelivered = self.client.flush()
        else:
            undelivered = self.client.flush(self.flush_timeout)
        if undelivered:
            raise KafkaDeliveryError(
                f'{undelivered} message(s) still queued for Kafka after '
                f'{self.flush_timeout} s.',
            )

    def send_message(self, topic: str, message: bytes) -> None:
        """Produce a message to the topic and flush.

        Raises:
            BufferError: If the client's local queue is full.
            KafkaDeliveryError: If messages were still undelivered after
                `flush_timeout` seconds.
        """
        self.client.produce(topic, message)
        self._flush()

    def close(self) -> None:
        """Flush the outstanding messages.

        Raises:
            KafkaDeliveryError: If messages were still undelivered after
                `flush_timeout` seconds.
        """
        self._flush()


class KafkaSubscriber(IterableSubscriber):
    """Subscriber consuming messages from Kafka topics.

    Args:
        client: Kafka consumer, already subscribed to its topics.
        timeout: Seconds `next_message()` waits (`None`: forever, with
            `client.poll()`).
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
            confluent_kafka.KafkaException: If the consumer reports an
                error.
        """
        while True:
            if self.timeout is None:
                message = self.client.poll()
            else:
                message = self.client.poll(self.timeout)
            if message is None:
                if self.timeout is None:  # pragma: no cover
                    continue
                raise TimeoutError(
                    f'No Kafka message within {self.timeout} s.',
                )
            error = message.error()
            if error is not None:
                import confluent_kafka

                raise confluent_kafka.KafkaException(error)
            value = message.value()
            return b'' if value is None else bytes(value)

    def close(self) -> None:
        """Close the consumer (leaving its group)."""
        self.client.close()
