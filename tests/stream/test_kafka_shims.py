"""Kafka shims: the parts that need no Kafka broker.

There is no Kafka cluster in the test environment: these tests use real
confluent-kafka clients pointed at a loopback port nobody listens on, so
they cover queuing, delivery-failure reporting, consumer timeouts and
closing, but not delivery itself.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from proxystore.stream.shims.kafka import KafkaDeliveryError
from proxystore.stream.shims.kafka import KafkaPublisher
from proxystore.stream.shims.kafka import KafkaSubscriber
from tests.fixtures.redis import free_port

confluent_kafka = pytest.importorskip('confluent_kafka')


def test_module_does_not_import_confluent_kafka() -> None:
    code = (
        'import sys, proxystore.stream.shims.kafka; '
        "assert 'confluent_kafka' not in sys.modules"
    )
    subprocess.run([sys.executable, '-c', code], check=True, timeout=60)


def test_undelivered_messages_are_reported() -> None:
    producer = confluent_kafka.Producer(
        {
            'bootstrap.servers': f'127.0.0.1:{free_port()}',
            'message.timeout.ms': 200,
            'log_level': 0,
        },
    )
    publisher = KafkaPublisher(producer, flush_timeout=10)
    publisher.send_message('t', b'event')
    with pytest.raises(KafkaDeliveryError, match="topic 't'"):
        publisher.close()
    assert len(publisher.delivery_errors) == 1


def test_messages_still_queued_are_reported() -> None:
    producer = confluent_kafka.Producer(
        {'bootstrap.servers': f'127.0.0.1:{free_port()}', 'log_level': 0},
    )
    publisher = KafkaPublisher(producer, flush_timeout=0.05)
    publisher.send_message('t', b'1')
    publisher.send_message('t', b'2')
    with pytest.raises(KafkaDeliveryError, match='2 messages still queued'):
        publisher.close()


def test_subscriber_timeout_and_close() -> None:
    consumer = confluent_kafka.Consumer(
        {
            'bootstrap.servers': f'127.0.0.1:{free_port()}',
            'group.id': 'proxystore-test',
            'log_level': 0,
        },
    )
    consumer.subscribe(['t'])
    subscriber = KafkaSubscriber(consumer, timeout=0.1)
    with pytest.raises(TimeoutError, match='No Kafka message'):
        next(subscriber)
    subscriber.close()
    with pytest.raises(RuntimeError):
        consumer.poll(0)  # closed for real
