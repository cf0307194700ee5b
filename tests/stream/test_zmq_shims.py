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
from tests.fixtures.ports import free_port
from tests.helpers.files import stored_files
from tests.helpers.processes import started

HOST = '127.0.0.1'


@pytest.fixture
def publisher() -> Iterator[ZeroMQPublisher]:
    publisher = ZeroMQPublisher(HOST, 0, linger=1)
    yield publisher
    publisher.close()


def subscribe(
    publisher: ZeroMQPublisher,
    topic: str = '',
    **options: Any,
) -> ZeroMQSubscriber:
    return ZeroMQSubscriber(HOST, publisher.port, topic=topic, **options)


def test_binds_tcp_address_and_port() -> None:
    port = free_port()
    publisher = ZeroMQPublisher(HOST, port)
    try:
        assert publisher.port == port
        endpoint = publisher._socket.getsockopt_string(zmq.LAST_ENDPOINT)
        assert endpoint == f'tcp://{HOST}:{port}'
        subscriber = ZeroMQSubscriber(HOST, port, topic='t', timeout=10)
        publisher.wait_for_subscribers('t', timeout=10)
        publisher.send_message('t', b'm')
        assert subscriber.next_message() == b'm'
        subscriber.close()
        assert subscriber._context.closed
    finally:
        publisher.close()
    assert publisher._context.closed


def test_port_zero_picks_a_free_port(publisher: ZeroMQPublisher) -> None:
    assert publisher.port > 0
    assert repr(publisher) == f"ZeroMQPublisher('{HOST}', {publisher.port})"


def test_bind_error_is_raised(publisher: ZeroMQPublisher) -> None:
    with pytest.raises(zmq.ZMQError):
        ZeroMQPublisher(HOST, publisher.port)


def test_subscriber_of_every_topic(publisher: ZeroMQPublisher) -> None:
    subscriber = subscribe(publisher, timeout=10)
    publisher.wait_for_subscribers('', timeout=10)
    publisher.send_message('a', b'1')
    publisher.send_message('b', b'2')
    assert [next(subscriber), next(subscriber)] == [b'1', b'2']
    subscriber.close()


def test_message_of_one_frame_is_an_error(
    publisher: ZeroMQPublisher,
) -> None:
    subscriber = subscribe(publisher, timeout=10)
    publisher.wait_for_subscribers('', timeout=10)
    publisher._socket.send(b'lonely frame')
    publisher.send_message('t', b'fine')
    with pytest.raises(ValueError, match='1 frame'):
        subscriber.next_message()
    assert subscriber.next_message() == b'fine'
    subscriber.close()


def test_stream(publisher: ZeroMQPublisher, file_store: Store[Any]) -> None:
    subscriber = subscribe(publisher, 't', timeout=10)
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


def test_topics_match_prefixes(publisher: ZeroMQPublisher) -> None:
    short = subscribe(publisher, 'a', timeout=10)
    long = subscribe(publisher, 'ab', timeout=10)
    publisher.wait_for_subscribers('a', timeout=10)
    publisher.wait_for_subscribers('ab', timeout=10)
    publisher.send_message('ab', b'for ab')
    publisher.send_message('a', b'for a')
    publisher.send_message('b', b'for b')
    # ZeroMQ matches prefixes: 'a' also receives 'ab'.
    assert short.next_message() == b'for ab'
    assert short.next_message() == b'for a'
    assert long.next_message() == b'for ab'
    with pytest.raises(TimeoutError):
        long.timeout = 0.05
        long.next_message()
    short.close()
    long.close()


def test_wait_for_several_subscribers(publisher: ZeroMQPublisher) -> None:
    subscribers = [subscribe(publisher, 't') for _ in range(3)]
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
    subscriber = subscribe(publisher, 't', timeout=0.05)
    with pytest.raises(TimeoutError, match="No message on topic 't'"):
        next(subscriber)
    subscriber.close()


def test_garbage_then_valid(
    publisher: ZeroMQPublisher, file_store: Store[Any]
) -> None:
    subscriber = subscribe(publisher, 't', timeout=10)
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


def consume_zmq(port: int, topic: str, results: Any) -> None:
    """Subscribe in a spawned process and consume the stream."""
    consumer: StreamConsumer[Any] = StreamConsumer(
        ZeroMQSubscriber(HOST, port, topic=topic, timeout=60),
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
        args=(publisher.port, 'numbers', results),
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
