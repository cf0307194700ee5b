"""ZeroMQ shims on free loopback ports."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from typing import Any

import pytest
import zmq

from proxystore.store import Store
from proxystore.stream import StreamConsumer
from proxystore.stream import StreamProducer
from proxystore.stream.exceptions import EventDecodeError
from proxystore.stream.shims.zmq import ZeroMQPublisher
from proxystore.stream.shims.zmq import ZeroMQSubscriber
from tests.stream.conftest import started
from tests.stream.conftest import stored_files

ANY_PORT = 'tcp://127.0.0.1:*'


@pytest.fixture
def publisher() -> Iterator[ZeroMQPublisher]:
    publisher = ZeroMQPublisher(ANY_PORT, linger=1)
    yield publisher
    publisher.close()


def test_address_has_the_bound_port(publisher: ZeroMQPublisher) -> None:
    assert publisher.address.startswith('tcp://127.0.0.1:')
    assert not publisher.address.endswith('*')


def test_bind_error_is_raised(publisher: ZeroMQPublisher) -> None:
    with pytest.raises(zmq.ZMQError):
        ZeroMQPublisher(publisher.address)


def test_stream(publisher: ZeroMQPublisher, file_store: Store[Any]) -> None:
    subscriber = ZeroMQSubscriber(publisher.address, 't', timeout=10)
    publisher.wait_for_subscribers('t', timeout=10)
    producer: StreamProducer[Any] = StreamProducer(
        publisher,
        default_store=file_store,
        batch_size=2,
    )
    for i in range(5):
        producer.send('t', [i] * i, metadata={'i': i})
    producer.close(topics=['t'], publisher=False)
    consumer: StreamConsumer[Any] = StreamConsumer(subscriber)
    assert list(consumer.iter_objects_with_metadata()) == [
        ({'i': i}, [i] * i) for i in range(5)
    ]
    consumer.close()
    assert stored_files(file_store) == []


def test_topics_match_exactly(publisher: ZeroMQPublisher) -> None:
    short = ZeroMQSubscriber(publisher.address, 'a', timeout=10)
    long = ZeroMQSubscriber(publisher.address, 'ab', timeout=10)
    publisher.wait_for_subscribers('a', timeout=10)
    publisher.wait_for_subscribers('ab', timeout=10)
    publisher.send_message('ab', b'for ab')
    publisher.send_message('a', b'for a')
    # ZeroMQ matches prefixes: 'a' also receives 'ab', but skips it.
    assert short.next_message() == b'for a'
    assert long.next_message() == b'for ab'
    short.close()
    long.close()


def test_wait_for_several_subscribers(publisher: ZeroMQPublisher) -> None:
    subscribers = [ZeroMQSubscriber(publisher.address, 't') for _ in range(3)]
    publisher.wait_for_subscribers('t', count=3, timeout=10)
    publisher.send_message('t', b'to all')
    assert [s.next_message() for s in subscribers] == [b'to all'] * 3
    for subscriber in subscribers:
        subscriber.close()


def test_timeouts(publisher: ZeroMQPublisher) -> None:
    with pytest.raises(
        TimeoutError, match="0 of 1 subscribers subscribed to 't'"
    ):
        publisher.wait_for_subscribers('t', timeout=0.05)
    subscriber = ZeroMQSubscriber(publisher.address, 't', timeout=0.05)
    with pytest.raises(TimeoutError, match="No message on topic 't'"):
        next(subscriber)
    subscriber.close()


def test_garbage_then_valid(
    publisher: ZeroMQPublisher, file_store: Store[Any]
) -> None:
    subscriber = ZeroMQSubscriber(publisher.address, 't', timeout=10)
    publisher.wait_for_subscribers('t', timeout=10)
    producer: StreamProducer[Any] = StreamProducer(
        publisher, default_store=file_store
    )
    publisher.send_message('t', b'garbage')
    producer.send('t', 'valid')
    producer.close(topics=['t'], publisher=False)
    consumer: StreamConsumer[Any] = StreamConsumer(subscriber)
    with pytest.raises(EventDecodeError):
        consumer.next()
    assert list(consumer.iter_objects()) == ['valid']
    consumer.close()


def consume_zmq(address: str, topic: str, results: Any) -> None:
    """Subscribe in a spawned process and consume the stream."""
    consumer: StreamConsumer[Any] = StreamConsumer(
        ZeroMQSubscriber(address, topic, timeout=60),
    )
    results.put(list(consumer.iter_objects()))
    consumer.close()


def test_spawned_subscriber(
    publisher: ZeroMQPublisher, file_store: Store[Any]
) -> None:
    context = multiprocessing.get_context('spawn')
    results = context.Queue()
    process = context.Process(
        target=consume_zmq,
        args=(publisher.address, 'numbers', results),
    )
    with started(process):
        # Proper slow-joiner sync: publish once the child's subscription
        # reached the publisher.
        publisher.wait_for_subscribers('numbers', timeout=60)
        producer: StreamProducer[Any] = StreamProducer(
            publisher,
            default_store=file_store,
        )
        for i in range(4):
            producer.send('numbers', {'n': i})
        producer.close(topics=['numbers'], publisher=False)
        assert results.get(timeout=60) == [{'n': i} for i in range(4)]
        process.join(timeout=60)
        assert process.exitcode == 0
    assert stored_files(file_store) == []
