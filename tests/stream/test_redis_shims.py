"""Redis shims against the session's real redis-server."""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from proxystore.connectors.redis import RedisConnector
from proxystore.store import Store
from proxystore.stream import StreamConsumer
from proxystore.stream import StreamProducer
from proxystore.stream.exceptions import EventDecodeError
from proxystore.stream.shims.redis import RedisPublisher
from proxystore.stream.shims.redis import RedisQueuePublisher
from proxystore.stream.shims.redis import RedisQueueSubscriber
from proxystore.stream.shims.redis import RedisSubscriber
from tests.fixtures.redis import RedisServer
from tests.helpers.processes import started


@pytest.fixture
def topic() -> str:
    return f'topic-{uuid.uuid4().hex[:10]}'


@pytest.fixture
def redis_store(
    redis_server: RedisServer, store_name: str
) -> Iterator[Store[Any]]:
    connector = RedisConnector(
        redis_server.host, redis_server.port, clear=True
    )
    with Store(store_name, connector) as store:
        yield store


def object_keys(client: Any) -> list[bytes]:
    """Keys of the session server that are not stream lists."""
    keys: list[bytes] = client.keys('*')
    return [k for k in keys if not k.startswith(b'topic-')]


def test_pubsub_stream(
    redis_server: RedisServer,
    redis_store: Store[Any],
    redis_client: Any,
    topic: str,
) -> None:
    # The subscription is confirmed when the subscriber exists.
    subscriber = RedisSubscriber(
        redis_server.host, redis_server.port, topic, timeout=10
    )
    keys_before = set(object_keys(redis_client))
    with StreamProducer[Any](
        RedisPublisher(redis_server.host, redis_server.port),
        default_store=redis_store,
    ) as producer:
        for i in range(3):
            producer.send(topic, {'i': i}, metadata={'i': i})
        producer.close_topics(topic)
    with StreamConsumer[Any](subscriber) as consumer:
        assert [(m['i'], p) for m, p in consumer.iter_with_metadata()] == [
            (0, {'i': 0}),
            (1, {'i': 1}),
            (2, {'i': 2}),
        ]
    assert set(object_keys(redis_client)) == keys_before  # all evicted


def test_pubsub_several_topics(redis_server: RedisServer, topic: str) -> None:
    other = f'{topic}-other'
    subscriber = RedisSubscriber(
        redis_server.host,
        redis_server.port,
        [topic, other],
        timeout=10,
    )
    publisher = RedisPublisher(redis_server.host, redis_server.port)
    publisher.send_message(other, b'1')
    publisher.send_message(topic, b'2')
    publisher.send_message(f'{topic}-unrelated', b'x')
    publisher.send_message(topic, b'3')
    assert [subscriber.next_message() for _ in range(3)] == [b'1', b'2', b'3']
    subscriber.timeout = 0.05
    with pytest.raises(TimeoutError, match='No message'):
        next(subscriber)
    subscriber.close()
    publisher.close()


def test_pubsub_needs_a_topic(redis_server: RedisServer) -> None:
    with pytest.raises(ValueError, match='at least one topic'):
        RedisSubscriber(redis_server.host, redis_server.port, [])


def consume_pubsub(
    host: str, port: int, topic: str, ready: Any, results: Any
) -> None:
    """Subscribe in a spawned process, signal readiness, consume."""
    subscriber = RedisSubscriber(host, port, topic, timeout=60)
    ready.set()
    consumer: StreamConsumer[Any] = StreamConsumer(subscriber)
    results.put([sum(obj) for obj in consumer.iter_objects()])
    consumer.close(stores=True)


def test_pubsub_spawned_consumer(
    redis_server: RedisServer,
    redis_store: Store[Any],
    topic: str,
) -> None:
    context = multiprocessing.get_context('spawn')
    ready = context.Event()
    results = context.Queue()
    process = context.Process(
        target=consume_pubsub,
        args=(redis_server.host, redis_server.port, topic, ready, results),
    )
    with started(process):
        assert ready.wait(timeout=60)
        producer: StreamProducer[list[int]] = StreamProducer(
            RedisPublisher(redis_server.host, redis_server.port),
            default_store=redis_store,
            batch_size=3,
        )
        for i in range(7):
            producer.send(topic, list(range(i)))
        producer.close(topics=[topic])
        assert results.get(timeout=60) == [sum(range(i)) for i in range(7)]
        process.join(timeout=60)
        assert process.exitcode == 0


def test_queue_stream_waits_for_late_consumer(
    redis_server: RedisServer,
    redis_store: Store[Any],
    redis_client: Any,
    topic: str,
) -> None:
    producer: StreamProducer[Any] = StreamProducer(
        RedisQueuePublisher(redis_server.host, redis_server.port),
        default_store=redis_store,
        batch_size=2,
    )
    for i in range(5):
        producer.send(topic, f'object {i}')
    producer.close(topics=[topic])
    assert redis_client.llen(topic) == 3  # 2 + 2 + (1 + end of stream)
    consumer: StreamConsumer[str] = StreamConsumer(
        RedisQueueSubscriber(
            redis_server.host, redis_server.port, topic, timeout=10
        ),
    )
    assert list(consumer.iter_objects()) == [f'object {i}' for i in range(5)]
    consumer.close()
    assert redis_client.llen(topic) == 0


def test_queue_garbage_message(
    redis_server: RedisServer,
    redis_store: Store[Any],
    redis_client: Any,
    topic: str,
) -> None:
    producer: StreamProducer[Any] = StreamProducer(
        RedisQueuePublisher(redis_server.host, redis_server.port),
        default_store=redis_store,
    )
    producer.send(topic, 'before')
    redis_client.rpush(topic, b'{"event_type": "oops", "topic": "x"}')
    producer.send(topic, 'after')
    producer.close(topics=[topic])
    consumer: StreamConsumer[Any] = StreamConsumer(
        RedisQueueSubscriber(
            redis_server.host, redis_server.port, topic, timeout=10
        ),
    )
    assert consumer.next_object() == 'before'
    with pytest.raises(EventDecodeError, match="Unknown event type 'oops'"):
        consumer.next_object()
    assert list(consumer.iter_objects()) == ['after']
    consumer.close()


def test_queue_timeouts(redis_server: RedisServer, topic: str) -> None:
    subscriber = RedisQueueSubscriber(
        redis_server.host,
        redis_server.port,
        topic,
        timeout=0,
    )
    with pytest.raises(TimeoutError, match=topic):
        subscriber.next_message()
    subscriber.timeout = 0.05
    with pytest.raises(TimeoutError):
        subscriber.next_message()
    publisher = RedisQueuePublisher(redis_server.host, redis_server.port)
    publisher.send_message(topic, b'message')
    assert subscriber.next_message() == b'message'
    publisher.close()
    subscriber.close()
