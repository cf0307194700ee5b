"""Names, protocols and behaviours that match upstream ProxyStore."""

from __future__ import annotations

import logging
import multiprocessing
import queue
import random
import subprocess
import sys
import threading
import typing
from typing import Any

import pytest

import proxystore.stream
from proxystore.connectors.file import FileKey
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.registry import register_connector
from proxystore.serialize import SerializationError
from proxystore.store import Store
from proxystore.store import get_store
from proxystore.store.config import ConnectorConfig
from proxystore.store.config import StoreConfig
from proxystore.stream import StreamConsumer
from proxystore.stream import StreamProducer
from proxystore.stream import protocols
from proxystore.stream.events import EndOfStreamEvent
from proxystore.stream.events import EventBatch
from proxystore.stream.events import NewObjectKeyEvent
from proxystore.stream.exceptions import EventDecodeError
from proxystore.stream.exceptions import EventEncodeError
from proxystore.stream.exceptions import TopicClosedError
from proxystore.stream.filters import SamplingFilter
from proxystore.stream.shims.queue import QueueEmptyError
from proxystore.stream.shims.queue import QueuePublisher
from proxystore.stream.shims.queue import QueueSubscriber
from proxystore.warnings import ExperimentalWarning
from tests.helpers.files import stored_files
from tests.helpers.stream import queue_producer


def test_import_emits_experimental_warning() -> None:
    code = (
        'import warnings\n'
        'with warnings.catch_warnings(record=True) as caught:\n'
        "    warnings.simplefilter('always')\n"
        '    import proxystore.stream\n'
        'from proxystore.warnings import ExperimentalWarning\n'
        'texts = [str(w.message) for w in caught\n'
        '         if w.category is ExperimentalWarning]\n'
        "assert texts == ['Streaming is an experimental feature and may "
        "change in the future.'], texts\n"
    )
    subprocess.run([sys.executable, '-c', code], check=True, timeout=60)
    assert proxystore.stream.ExperimentalWarning is ExperimentalWarning
    assert issubclass(ExperimentalWarning, Warning)
    assert not issubclass(ExperimentalWarning, UserWarning)
    assert set(proxystore.stream.__all__) >= {
        'StreamConsumer',
        'StreamProducer',
    }


def test_topic_closed_error() -> None:
    assert issubclass(TopicClosedError, Exception)


def test_publisher_and_subscriber_are_unions() -> None:
    assert set(typing.get_args(protocols.Publisher)) == {
        typing.ForwardRef('EventPublisher'),
        typing.ForwardRef('MessagePublisher'),
    }
    assert set(typing.get_args(protocols.Subscriber)) == {
        typing.ForwardRef('EventSubscriber'),
        typing.ForwardRef('MessageSubscriber'),
    }
    assert protocols.EventBatch is EventBatch
    assert callable(protocols.Filter.__call__)


class Events:
    def __iter__(self) -> Events:
        return self

    def __next__(self) -> EventBatch:
        return self.next_events()

    def next_events(self) -> EventBatch:
        return EventBatch('t', [])

    def send_events(self, events: EventBatch) -> None:
        pass

    def close(self) -> None:
        pass


def test_protocols_are_runtime_checkable() -> None:
    q: queue.Queue[bytes] = queue.Queue()
    publisher = QueuePublisher({'t': q})
    subscriber = QueueSubscriber(q)
    assert isinstance(publisher, protocols.MessagePublisher)
    assert isinstance(subscriber, protocols.MessageSubscriber)
    assert not isinstance(publisher, protocols.EventPublisher)
    assert not isinstance(subscriber, protocols.EventSubscriber)
    assert isinstance(Events(), protocols.EventPublisher)
    assert isinstance(Events(), protocols.EventSubscriber)


class CountingConnector(LocalConnector):
    """A local connector that counts put and put_batch calls."""

    def __init__(self) -> None:
        super().__init__()
        self.puts = 0
        self.batches: list[int] = []

    def put(self, obj: bytes) -> Any:
        self.puts += 1
        return super().put(obj)

    def put_batch(self, objs: Any) -> Any:
        self.batches.append(len(objs))
        return super().put_batch(objs)


def test_flush_stores_with_one_put_batch(store_name: str) -> None:
    # Consumers only accept registered connector kinds.
    register_connector('counting', f'{__name__}.CountingConnector')
    connector = CountingConnector()
    q: queue.Queue[bytes] = queue.Queue()
    with Store(store_name, connector, register=True) as store:
        producer = queue_producer(q, store, batch_size=3)
        for i in range(7):
            producer.send('t', i)
        producer.close(topics=['t'])
        assert connector.batches == [3, 3, 1]
        assert connector.puts == 0
        consumer: StreamConsumer[int] = StreamConsumer(QueueSubscriber(q))
        assert list(consumer.iter_objects()) == list(range(7))


def test_unserializable_object_in_a_batch_is_dropped_alone(
    file_store: Store[Any],
    topic_queue: queue.Queue[bytes],
) -> None:
    producer = queue_producer(topic_queue, file_store, batch_size=3)
    producer.send('t', 'a')
    producer.send('t', threading.Lock())
    with pytest.raises(SerializationError):
        producer.send('t', 'b')  # the flush finds the bad object
    assert stored_files(file_store) == []
    assert topic_queue.empty()
    producer.close(topics=['t'])
    consumer: StreamConsumer[str] = StreamConsumer(
        QueueSubscriber(topic_queue),
    )
    assert list(consumer.iter_objects()) == ['a', 'b']


def test_close_with_stores_closes_and_unregisters(
    store_name: str,
    topic_queue: queue.Queue[bytes],
) -> None:
    store = Store(store_name, LocalConnector(), register=True)
    producer = queue_producer(topic_queue, store)
    producer.close(stores=True)
    assert store.closed
    assert get_store(store_name) is None


def test_next_object_of_a_missing_object(
    pair: tuple[StreamProducer[Any], StreamConsumer[Any]],
    file_store: Store[Any],
) -> None:
    producer, consumer = pair
    producer.send('t', 'gone')
    (filename,) = stored_files(file_store)
    file_store.evict(FileKey(filename))
    with pytest.raises(ValueError, match='returned None for key=') as e:
        consumer.next_object()
    assert str(e.value) == (
        f'Store(name="{file_store.name}") returned None for '
        f'key={FileKey(filename)}.'
    )
    # The rest of the stream is untouched.
    producer.send('t', 'next')
    assert consumer.next_object() == 'next'


def test_consumer_registers_the_store_on_first_use(
    pair: tuple[StreamProducer[Any], StreamConsumer[Any]],
    file_store: Store[Any],
    store_name: str,
) -> None:
    producer, consumer = pair
    producer.send('t', 1)
    producer.send('t', 2)
    file_store.close()
    assert get_store(store_name) is None
    first = consumer.next()
    store = get_store(store_name)
    assert store is not None
    assert get_store(first) is store
    second = consumer.next()
    assert get_store(second) is store  # cached for the topic
    assert (first, second) == (1, 2)
    consumer.close(stores=True)
    assert store.closed
    assert get_store(store_name) is None


def test_key_events_carry_key_type_and_raw_key(
    pair: tuple[StreamProducer[Any], StreamConsumer[Any]],
    topic_queue: queue.Queue[bytes],
) -> None:
    from proxystore.stream.events import bytes_to_event

    producer, _ = pair
    producer.send('t', 'x', metadata={'m': 1})
    batch = bytes_to_event(topic_queue.get_nowait())
    assert isinstance(batch, EventBatch)
    (event,) = batch.events
    assert isinstance(event, NewObjectKeyEvent)
    assert event.key_type == 'proxystore.connectors.file.FileKey'
    assert len(event.raw_key) == 1


def test_sampling_filter_uses_the_global_random_module() -> None:
    sampler = SamplingFilter(0.5)
    random.seed(1234)
    draws = [sampler({}) for _ in range(50)]
    random.seed(1234)
    assert draws == [random.random() <= 0.5 for _ in range(50)]  # noqa: PLR2004


def test_queue_empty_error_is_both() -> None:
    q: queue.Queue[bytes] = queue.Queue()
    with pytest.raises(queue.Empty):
        QueueSubscriber(q, block=False).next_message()
    with pytest.raises(TimeoutError):
        QueueSubscriber(q, timeout=0.01).next_message()
    assert issubclass(QueueEmptyError, queue.Empty)


def test_queue_shims_close_multiprocessing_queues() -> None:
    context = multiprocessing.get_context('spawn')
    q = context.Queue()
    publisher = QueuePublisher({'t': q})
    publisher.send_message('t', b'm')
    publisher.close()
    with pytest.raises(ValueError, match='closed'):
        publisher.send_message('t', b'after')
    # A closed multiprocessing queue ends the subscriber's iteration.
    assert list(QueueSubscriber(q, timeout=5)) == []


def test_logging_is_debug_per_event(
    caplog: pytest.LogCaptureFixture,
    pair: tuple[StreamProducer[Any], StreamConsumer[Any]],
) -> None:
    producer, consumer = pair
    with caplog.at_level(logging.DEBUG, logger='proxystore.stream'):
        producer.send('t', 1)
        producer.close(topics=['t'])
        assert list(consumer.iter_objects()) == [1]
    records = [r for r in caplog.records if r.name.startswith('proxystore.')]
    names = {r.name for r in records}
    assert {'proxystore.stream.producer', 'proxystore.stream.consumer'} <= (
        names
    )
    stream = [r for r in records if r.name.startswith('proxystore.stream')]
    assert all(r.levelno == logging.DEBUG for r in stream)


def test_send_to_closed_topic_sends_nothing(
    pair: tuple[StreamProducer[Any], StreamConsumer[Any]],
    topic_queue: queue.Queue[bytes],
) -> None:
    producer, _ = pair
    producer.close_topics('t')
    count = topic_queue.qsize()
    with pytest.raises(TopicClosedError):
        producer.send('t', 'late')
    assert topic_queue.qsize() == count


class OneBatch(Events):
    """An event subscriber delivering one prepared batch, then the end."""

    def __init__(self, batch: EventBatch) -> None:
        self.batches = [batch, EventBatch('t', [EndOfStreamEvent('t')])]

    def next_events(self) -> EventBatch:
        return self.batches.pop(0)


def test_event_subscriber_events_are_checked_too() -> None:
    config = StoreConfig.model_construct(
        name='evil',
        connector=ConnectorConfig.model_construct(
            kind='subprocess.Popen',
            options={},
        ),
    )
    event = NewObjectKeyEvent(
        't',
        'proxystore.connectors.local.LocalKey',
        ['k'],
        True,
        {},
        config,
    )
    consumer: StreamConsumer[Any] = StreamConsumer(
        OneBatch(EventBatch('t', [event])),
    )
    with pytest.raises(EventDecodeError, match='subprocess.Popen'):
        consumer.next()
    assert get_store('evil') is None
    with pytest.raises(StopIteration):
        consumer.next()


def test_unencodable_inline_aggregate_is_dropped_with_a_clear_error(
    topic_queue: queue.Queue[bytes],
) -> None:
    def to_lock(objs: list[Any]) -> Any:
        return threading.Lock() if len(objs) > 1 else objs[0]

    producer: StreamProducer[Any] = StreamProducer(
        QueuePublisher({'t': topic_queue}),
        aggregator=to_lock,
        batch_size=2,
    )
    producer.send('t', 1)
    with pytest.raises(EventEncodeError, match='aggregate of 2 object'):
        producer.send('t', 2)
    assert topic_queue.empty()
    producer.send('t', 3)  # the topic goes on
    producer.close(topics=['t'])
    assert list(StreamConsumer(QueueSubscriber(topic_queue))) == [3]
