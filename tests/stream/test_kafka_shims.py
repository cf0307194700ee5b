"""Kafka shims: the parts that need no Kafka broker.

There is no Kafka cluster in the test environment: these tests use real
confluent-kafka clients pointed at a loopback port nobody listens on, so
they cover the calls the shims make, queuing, timeouts and closing, but
not delivery itself.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from proxystore.stream.protocols import MessagePublisher
from proxystore.stream.protocols import MessageSubscriber
from proxystore.stream.shims.kafka import KafkaDeliveryError
from proxystore.stream.shims.kafka import KafkaPublisher
from proxystore.stream.shims.kafka import KafkaSubscriber
from tests.fixtures.ports import free_port

confluent_kafka = pytest.importorskip('confluent_kafka')


class RecordingProducer(confluent_kafka.Producer):  # type: ignore[misc,name-defined]
    """A real producer that records how it is called."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    def produce(self, *args: Any, **kwargs: Any) -> None:
        self.calls.append(('produce', args, kwargs))
        super().produce(*args, **kwargs)

    def flush(self, *args: Any) -> int:
        self.calls.append(('flush', args, {}))
        return int(super().flush(*args))


class RecordingConsumer(confluent_kafka.Consumer):  # type: ignore[misc,name-defined]
    """A real consumer that records its poll calls (polls briefly)."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.polls: list[tuple[Any, ...]] = []

    def poll(self, *args: Any) -> Any:
        self.polls.append(args)
        return super().poll(0.05) if not args else super().poll(*args)


def producer_config(**extra: Any) -> dict[str, Any]:
    return {
        'bootstrap.servers': f'127.0.0.1:{free_port()}',
        'log_level': 0,
        **extra,
    }


def test_module_does_not_import_confluent_kafka() -> None:
    code = (
        'import sys, proxystore.stream.shims.kafka; '
        "assert 'confluent_kafka' not in sys.modules"
    )
    subprocess.run([sys.executable, '-c', code], check=True, timeout=60)


def test_send_message_produces_positionally_then_flushes() -> None:
    # Undeliverable messages fail after 100 ms, so flush() returns.
    client = RecordingProducer(producer_config(**{'message.timeout.ms': 100}))
    publisher = KafkaPublisher(client)
    assert isinstance(publisher, MessagePublisher)
    publisher.send_message('t', b'event')
    assert client.calls == [
        ('produce', ('t', b'event'), {}),
        ('flush', (), {}),
    ]
    publisher.close()
    assert client.calls[-1] == ('flush', (), {})


def test_messages_still_queued_are_reported() -> None:
    client = RecordingProducer(producer_config())
    publisher = KafkaPublisher(client, flush_timeout=0.05)
    with pytest.raises(KafkaDeliveryError, match='1 message'):
        publisher.send_message('t', b'1')
    assert client.calls[-1] == ('flush', (0.05,), {})
    with pytest.raises(KafkaDeliveryError, match='still queued'):
        publisher.close()


def consumer_client() -> RecordingConsumer:
    client = RecordingConsumer(
        {
            'bootstrap.servers': f'127.0.0.1:{free_port()}',
            'group.id': 'proxystore-test',
            'log_level': 0,
        },
    )
    client.subscribe(['t'])
    return client


def test_subscriber_timeout_and_close() -> None:
    client = consumer_client()
    subscriber = KafkaSubscriber(client, timeout=0.1)
    assert isinstance(subscriber, MessageSubscriber)
    with pytest.raises(TimeoutError, match='No Kafka message'):
        next(subscriber)
    assert client.polls == [(0.1,)]
    subscriber.close()
    with pytest.raises(RuntimeError):
        client.poll(0)  # closed for real


@pytest.mark.timeout(30)
def test_subscriber_without_timeout_polls_without_argument() -> None:
    client = consumer_client()
    subscriber = KafkaSubscriber(client)
    # Nothing arrives; the recording client polls briefly, so stop the
    # loop by closing the client after a few polls.
    original = client.poll

    def poll_then_close(*args: Any) -> Any:
        if len(client.polls) >= 3:  # noqa: PLR2004
            client.close()
        return original(*args)

    client.poll = poll_then_close  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        subscriber.next_message()
    assert set(client.polls) == {()}
