"""StreamProducer and StreamConsumer over in-process queues."""

from __future__ import annotations

import queue
import threading
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.file import FileKey
from proxystore.connectors.local import LocalConnector
from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved
from proxystore.serialize import SerializationError
from proxystore.store import Store
from proxystore.store import get_store
from proxystore.store.exceptions import ProxyResolveMissingKeyError
from proxystore.store.utils import get_key
from proxystore.stream import StreamConsumer
from proxystore.stream import StreamProducer
from proxystore.stream.events import EndOfStreamEvent
from proxystore.stream.events import Event
from proxystore.stream.events import EventBatch
from proxystore.stream.events import NewObjectEvent
from proxystore.stream.events import NewObjectKeyEvent
from proxystore.stream.events import bytes_to_event
from proxystore.stream.events import event_to_bytes
from proxystore.stream.exceptions import EventDecodeError
from proxystore.stream.exceptions import EventEncodeError
from proxystore.stream.exceptions import StreamClosedError
from proxystore.stream.exceptions import TopicClosedError
from proxystore.stream.filters import NullFilter
from proxystore.stream.filters import SamplingFilter
from proxystore.stream.shims.queue import QueuePublisher
from proxystore.stream.shims.queue import QueueSubscriber
from tests.helpers.files import stored_files
from tests.helpers.stream import queue_producer

Pair = tuple[StreamProducer[Any], StreamConsumer[Any]]


def drain(q: queue.Queue[bytes]) -> list[Event | EventBatch]:
    events = []
    while not q.empty():
        events.append(bytes_to_event(q.get_nowait()))
    return events


def test_objects_arrive_as_proxies(pair: Pair) -> None:
    producer, consumer = pair
    objs = [{'i': i, 'data': list(range(i))} for i in range(5)]
    for obj in objs:
        producer.send('t', obj)
    producer.close_topics('t')
    proxies = list(consumer)
    assert all(type(p) is Proxy for p in proxies)
    assert not any(is_resolved(p) for p in proxies)
    assert proxies == objs


def test_end_of_stream_and_closed_topics(
    pair: Pair,
    topic_queue: queue.Queue[bytes],
) -> None:
    producer, consumer = pair
    producer.send('t', 1)
    producer.close_topics('t')
    with pytest.raises(TopicClosedError, match='^Topic "t" has been closed.$'):
        producer.send('t', 2)
    assert topic_queue.qsize() == 2  # noqa: PLR2004 (nothing after the end)
    assert list(consumer) == [1]
    # Each end-of-stream event stops iteration once; the consumer reads on.
    batch = EventBatch('t', [NewObjectEvent('t', 3, {})])
    topic_queue.put(event_to_bytes(batch))
    topic_queue.put(event_to_bytes(EndOfStreamEvent('t')))
    assert list(consumer) == [3]


def test_metadata_variants(pair: Pair) -> None:
    producer, consumer = pair
    for i in range(4):
        producer.send('t', [i], metadata={'index': i, 'tags': ['a']})
    producer.close(topics=['t'])
    metadata, proxy = consumer.next_with_metadata()
    assert metadata == {'index': 0, 'tags': ['a']}
    assert proxy == [0]
    assert consumer.next_object() == [1]
    assert consumer.next_object_with_metadata() == (
        {'index': 2, 'tags': ['a']},
        [2],
    )
    assert [
        (m['index'], list(p)) for m, p in consumer.iter_with_metadata()
    ] == [
        (3, [3]),
    ]


def test_iter_objects_with_metadata(pair: Pair) -> None:
    producer, consumer = pair
    producer.send('t', 'a', metadata={'n': 1})
    producer.send('t', 'b')
    producer.close_topics('t')
    assert list(consumer.iter_objects_with_metadata()) == [
        ({'n': 1}, 'a'),
        ({}, 'b'),
    ]


def test_evict_after_consumption(pair: Pair, file_store: Store[Any]) -> None:
    producer, consumer = pair
    producer.send('t', 'evicted')
    producer.send('t', 'kept', evict=False)
    producer.close_topics('t')
    first, second = consumer.next(), consumer.next()
    key1, key2 = get_key(first), get_key(second)
    assert file_store.exists(key1)  # not resolved yet
    assert first == 'evicted'
    assert second == 'kept'
    assert not file_store.exists(key1)
    assert file_store.exists(key2)


def test_next_object_evicts(pair: Pair, file_store: Store[Any]) -> None:
    producer, consumer = pair
    producer.send('t', 'a')
    assert len(stored_files(file_store)) == 1
    assert consumer.next_object() == 'a'
    assert stored_files(file_store) == []


def test_missing_object_is_a_clear_error(
    pair: Pair,
    file_store: Store[Any],
) -> None:
    producer, consumer = pair
    producer.send('t', 'gone')
    producer.send('t', 'next')
    producer.close_topics('t')
    proxy = consumer.next()
    file_store.evict(get_key(proxy))
    with pytest.raises(Exception) as raised:  # noqa: PT011
        str(proxy)
    # The missing-key error (possibly wrapped by the proxy).
    error: BaseException | None = raised.value
    while error is not None and not isinstance(
        error,
        ProxyResolveMissingKeyError,
    ):
        error = error.__cause__
    assert error is not None
    assert 'evicted' in str(error)
    # The rest of the stream is untouched.
    assert list(consumer.iter_objects()) == ['next']


def test_batching_sends_one_message_per_batch(
    file_store: Store[Any],
    topic_queue: queue.Queue[bytes],
) -> None:
    producer: StreamProducer[int] = queue_producer(
        topic_queue, file_store, batch_size=3
    )
    for i in range(4):
        producer.send('t', i, metadata={'i': i})
    (batch,) = drain(topic_queue)  # the 4th object is still pending
    assert isinstance(batch, EventBatch)
    assert [e.metadata['i'] for e in batch.events] == [0, 1, 2]  # type: ignore[union-attr]
    # Objects are stored when their batch is flushed.
    assert len(stored_files(file_store)) == 3  # noqa: PLR2004
    producer.flush()
    (single,) = drain(topic_queue)
    assert isinstance(single, EventBatch)  # every publish is a batch
    (event,) = single.events
    assert isinstance(event, NewObjectKeyEvent)
    assert event.metadata == {'i': 3}
    assert len(stored_files(file_store)) == 4  # noqa: PLR2004
    producer.flush()  # nothing pending: nothing sent
    producer.flush_topic('unknown-topic')
    assert topic_queue.empty()


def test_batches_reach_consumer_in_order(
    file_store: Store[Any],
    topic_queue: queue.Queue[bytes],
) -> None:
    producer: StreamProducer[int] = queue_producer(
        topic_queue, file_store, batch_size=4
    )
    for i in range(10):
        producer.send('t', i)
    producer.close(topics=['t'])
    # 2 full batches, then the last 2 objects and the end in one message.
    assert topic_queue.qsize() == 3
    assert list(
        StreamConsumer(QueueSubscriber(topic_queue)).iter_objects()
    ) == list(range(10))
    assert stored_files(file_store) == []


def test_flush_topic_only_flushes_that_topic(file_store: Store[Any]) -> None:
    qa: queue.Queue[bytes] = queue.Queue()
    qb: queue.Queue[bytes] = queue.Queue()
    producer: StreamProducer[int] = StreamProducer(
        QueuePublisher({'a': qa, 'b': qb}),
        default_store=file_store,
        batch_size=10,
    )
    producer.send('a', 1)
    producer.send('b', 2)
    producer.flush_topic('a')
    assert qa.qsize() == 1
    assert qb.empty()
    producer.close()
    assert qb.qsize() == 1


def sum_batch(batch: list[list[int]]) -> list[int]:
    return [sum(b) for b in batch]


def test_aggregator(
    file_store: Store[Any], topic_queue: queue.Queue[bytes]
) -> None:
    producer: StreamProducer[Any] = queue_producer(
        topic_queue,
        file_store,
        batch_size=3,
        aggregator=lambda objs: sum(objs, []),
    )
    for i in range(7):
        producer.send('t', [i], metadata={'last': i, f'k{i}': i})
    assert len(stored_files(file_store)) == 2  # only aggregates are stored
    producer.close(topics=['t'])
    consumer: StreamConsumer[list[int]] = StreamConsumer(
        QueueSubscriber(topic_queue)
    )
    results = list(consumer.iter_objects_with_metadata())
    assert [obj for _, obj in results] == [[0, 1, 2], [3, 4, 5], [6]]
    # Metadata of an aggregate: the union, later objects win.
    assert results[0][0] == {'last': 2, 'k0': 0, 'k1': 1, 'k2': 2}
    assert stored_files(file_store) == []


def test_aggregate_evicted_if_any_asked(
    file_store: Store[Any],
    topic_queue: queue.Queue[bytes],
) -> None:
    producer: StreamProducer[Any] = queue_producer(
        topic_queue, file_store, batch_size=2, aggregator=sum_batch
    )
    producer.send('t', [1], evict=False)
    producer.send('t', [2], evict=False)
    producer.send('t', [3], evict=False)
    producer.send('t', [4])
    producer.close(topics=['t'])
    consumer: StreamConsumer[Any] = StreamConsumer(
        QueueSubscriber(topic_queue)
    )
    assert list(consumer.iter_objects()) == [[1, 2], [3, 4]]
    (kept,) = stored_files(file_store)
    assert file_store.get(FileKey(kept)) == [1, 2]


def test_producer_filter_drops_before_storing(
    file_store: Store[Any],
    topic_queue: queue.Queue[bytes],
) -> None:
    producer: StreamProducer[int] = queue_producer(
        topic_queue,
        file_store,
        filter_=lambda metadata: metadata.get('odd', False),
    )
    for i in range(6):
        producer.send('t', i, metadata={'odd': i % 2 == 1})
    assert len(stored_files(file_store)) == 3
    producer.close(topics=['t'])
    consumer: StreamConsumer[int] = StreamConsumer(
        QueueSubscriber(topic_queue)
    )
    assert list(consumer.iter_objects()) == [0, 2, 4]


def test_consumer_filter_skips_and_evicts(
    pair: Pair,
    file_store: Store[Any],
    topic_queue: queue.Queue[bytes],
) -> None:
    producer, _ = pair
    consumer: StreamConsumer[int] = StreamConsumer(
        QueueSubscriber(topic_queue),
        filter_=lambda metadata: metadata['i'] < 3,
    )
    for i in range(5):
        producer.send('t', i, metadata={'i': i}, evict=i != 1)
    producer.close(topics=['t'])
    assert list(consumer.iter_objects()) == [3, 4]
    # Dropped objects were evicted, except the one sent with evict=False.
    (left,) = stored_files(file_store)
    assert file_store.get(FileKey(left)) == 1


def test_null_and_sampling_filters(
    pair: Pair, topic_queue: queue.Queue[bytes]
) -> None:
    producer, _ = pair
    for i in range(40):
        producer.send('t', i)
    producer.close(topics=['t'])
    consumer: StreamConsumer[int] = StreamConsumer(
        QueueSubscriber(topic_queue),
        filter_=SamplingFilter(0.5, seed=1),
    )
    kept = list(consumer.iter_objects())
    sampler = SamplingFilter(0.5, seed=1)
    assert kept == [i for i in range(40) if not sampler({})]
    assert 0 < len(kept) < 40
    assert NullFilter()({'anything': 1}) is False


def test_topic_stores(tmp_path: Any, file_store: Store[Any]) -> None:
    other = Store('other-stream-store', FileConnector(str(tmp_path / 'other')))
    qa: queue.Queue[bytes] = queue.Queue()
    qb: queue.Queue[bytes] = queue.Queue()
    qc: queue.Queue[bytes] = queue.Queue()
    producer: StreamProducer[str] = StreamProducer(
        QueuePublisher({'a': qa, 'b': qb, 'c': qc}),
        default_store=other,
        stores={'a': file_store, 'c': None},
    )
    producer.send('a', 'to a')
    producer.send('b', 'to b')
    producer.send('c', 'inline')
    assert len(stored_files(file_store)) == 1
    assert len(stored_files(other)) == 1
    producer.close(topics=['a', 'b', 'c'])
    a = StreamConsumer[str](QueueSubscriber(qa))
    b = StreamConsumer[str](QueueSubscriber(qb))
    c = StreamConsumer[str](QueueSubscriber(qc))
    assert list(a.iter_objects()) == ['to a']
    assert list(b.iter_objects()) == ['to b']
    assert list(c) == ['inline']  # a store of None: sent inline
    producer.close(stores=True)  # closed already: does nothing
    assert not other.closed
    other.close()


def test_no_store_sends_objects_inline(
    topic_queue: queue.Queue[bytes],
) -> None:
    producer: StreamProducer[Any] = StreamProducer(
        QueuePublisher({'t': topic_queue}),
    )
    producer.send('t', {'small': (1, b'x')}, metadata={'n': 1})
    producer.send('t', [2])
    producer.close(topics=['t'])
    assert drain(topic_queue) == [
        EventBatch('t', [NewObjectEvent('t', {'small': (1, b'x')}, {'n': 1})]),
        EventBatch('t', [NewObjectEvent('t', [2], {})]),
        EventBatch('t', [EndOfStreamEvent('t')]),
    ]


def test_inline_objects_reach_the_consumer_as_they_are(
    topic_queue: queue.Queue[bytes],
) -> None:
    producer: StreamProducer[Any] = StreamProducer(
        QueuePublisher({'t': topic_queue}),
        batch_size=2,
    )
    for i in range(3):
        producer.send('t', {'i': i}, metadata={'i': i})
    producer.close(topics=['t'])
    consumer: StreamConsumer[Any] = StreamConsumer(
        QueueSubscriber(topic_queue),
    )
    first = consumer.next()
    assert type(first) is dict  # not a proxy
    assert first == {'i': 0}
    assert consumer.next_with_metadata() == ({'i': 1}, {'i': 1})
    assert consumer.next_object() == {'i': 2}
    with pytest.raises(StopIteration):
        consumer.next()


def test_unencodable_inline_object_is_refused_at_send(
    topic_queue: queue.Queue[bytes],
) -> None:
    producer: StreamProducer[Any] = StreamProducer(
        QueuePublisher({'t': topic_queue}),
    )
    with pytest.raises(EventEncodeError, match='through a store'):
        producer.send('t', threading.Lock())
    producer.send('t', 'ok')
    producer.close(topics=['t'])
    assert list(StreamConsumer(QueueSubscriber(topic_queue))) == ['ok']


def test_closed_producer(pair: Pair, topic_queue: queue.Queue[bytes]) -> None:
    producer, consumer = pair
    producer.send('t', 'before')
    producer.close(topics=['t'])
    producer.close()  # again: nothing happens
    for call in (
        lambda: producer.send('t', 'after'),
        producer.flush,
        lambda: producer.flush_topic('t'),
        lambda: producer.close_topics('t'),
    ):
        with pytest.raises(StreamClosedError, match='producer is closed'):
            call()
    assert list(consumer.iter_objects()) == ['before']


def test_closed_consumer(pair: Pair) -> None:
    producer, consumer = pair
    producer.send('t', 1)
    consumer.close()
    consumer.close()
    with pytest.raises(StreamClosedError, match='consumer is closed'):
        consumer.next()


def test_bad_metadata_is_rejected_before_storing(
    pair: Pair,
    file_store: Store[Any],
    topic_queue: queue.Queue[bytes],
) -> None:
    producer, consumer = pair
    with pytest.raises(EventEncodeError, match='metadata'):
        producer.send('t', 'x', metadata={'when': object()})
    assert stored_files(file_store) == []
    assert topic_queue.empty()
    producer.send('t', 'ok')
    assert consumer.next_object() == 'ok'


def test_unserializable_object_loses_nothing(
    pair: Pair, file_store: Store[Any]
) -> None:
    producer, consumer = pair
    producer.send('t', 'first')
    with pytest.raises(SerializationError):
        producer.send('t', threading.Lock())
    producer.send('t', 'second')
    producer.close(topics=['t'])
    assert list(consumer.iter_objects()) == ['first', 'second']


def test_publish_failure_keeps_events(file_store: Store[Any]) -> None:
    full: queue.Queue[bytes] = queue.Queue(maxsize=1)
    producer: StreamProducer[int] = StreamProducer(
        QueuePublisher({'t': full}, block=False),
        default_store=file_store,
    )
    producer.send('t', 0)
    with pytest.raises(queue.Full):
        producer.send('t', 1)  # stored, its event is kept
    with pytest.raises(queue.Full):
        producer.close(topics=['t'])  # fails too: the producer stays open
    consumer: StreamConsumer[int] = StreamConsumer(
        QueueSubscriber(full, timeout=5)
    )
    assert consumer.next_object() == 0
    producer.flush()  # the retained event goes out now
    assert consumer.next_object() == 1
    producer.close(topics=['t'])
    assert list(consumer.iter_objects()) == []
    assert stored_files(file_store) == []


def test_garbage_message_is_an_error_then_stream_continues(
    pair: Pair,
    topic_queue: queue.Queue[bytes],
) -> None:
    producer, consumer = pair
    producer.send('t', 'before')
    topic_queue.put(b'\x00 not an event')
    topic_queue.put('not even bytes')  # type: ignore[arg-type]
    producer.send('t', 'after')
    producer.close_topics('t')
    assert consumer.next_object() == 'before'
    with pytest.raises(EventDecodeError, match='not an encoded stream event'):
        consumer.next()
    with pytest.raises(EventDecodeError, match='must be bytes'):
        consumer.next()
    assert list(consumer.iter_objects()) == ['after']


def test_subscriber_timeout(topic_queue: queue.Queue[bytes]) -> None:
    consumer: StreamConsumer[Any] = StreamConsumer(
        QueueSubscriber(topic_queue, timeout=0.01),
    )
    with pytest.raises(TimeoutError, match='No message'):
        consumer.next()
    consumer = StreamConsumer(QueueSubscriber(topic_queue, block=False))
    with pytest.raises(TimeoutError):
        consumer.next()
    topic_queue.put(event_to_bytes(EndOfStreamEvent('t')))
    assert list(consumer) == []


def test_unknown_queue_topic(pair: Pair, file_store: Store[Any]) -> None:
    producer, _ = pair
    with pytest.raises(ValueError, match='^Unknown topic "x".$'):
        producer.send('x', 1)


def test_registered_local_store_in_process(store_name: str) -> None:
    q: queue.Queue[bytes] = queue.Queue()
    with Store(store_name, LocalConnector(), register=True) as store:
        with queue_producer(q, store) as producer:
            producer.send('t', {'a': 1})
            producer.close_topics('t')
        with StreamConsumer[Any](QueueSubscriber(q)) as consumer:
            (proxy,) = list(consumer)
            assert proxy == {'a': 1}
            assert get_store(proxy) is store


def test_consumer_creates_store_from_event(
    pair: Pair,
    store_name: str,
    file_store: Store[Any],
) -> None:
    producer, consumer = pair
    producer.send('t', 'x')
    file_store.close()  # clear=False: the object stays
    assert get_store(store_name) is None
    assert consumer.next_object() == 'x'
    created = get_store(store_name)
    assert created is not None
    consumer.close(stores=True)
    assert get_store(store_name) is None
    assert created.closed


def test_unregistered_store_in_process(store_name: str) -> None:
    q: queue.Queue[bytes] = queue.Queue()
    with Store(store_name, LocalConnector()) as store:
        producer: StreamProducer[Any] = queue_producer(q, store)
        producer.send('t', [1, 2])
        consumer: StreamConsumer[Any] = StreamConsumer(QueueSubscriber(q))
        assert consumer.next_object() == [1, 2]
        consumer.close(stores=True)
        assert store.closed


def test_store_config_must_be_sendable() -> None:
    store = Store('unsendable', LocalConnector(), serializer=lambda obj: b'')
    with pytest.raises(
        EventEncodeError, match="serializer of store 'unsendable'"
    ):
        StreamProducer[Any](QueuePublisher({}), default_store=store)
    store.close()


def test_bad_batch_size() -> None:
    with pytest.raises(ValueError, match='batch_size'):
        StreamProducer[Any](QueuePublisher({}), batch_size=0)


class ListEventBroker:
    """A broker of event objects (the event-level protocols)."""

    def __init__(self) -> None:
        self.events: list[EventBatch] = []
        self.closed = False

    def send_events(self, events: EventBatch) -> None:
        self.events.append(events)

    def __iter__(self) -> ListEventBroker:
        return self

    def __next__(self) -> EventBatch:
        return self.next_events()

    def next_events(self) -> EventBatch:
        if not self.events:
            raise StopIteration
        return self.events.pop(0)

    def close(self) -> None:
        self.closed = True


def test_event_publisher_and_subscriber(file_store: Store[Any]) -> None:
    broker = ListEventBroker()
    producer: StreamProducer[int] = StreamProducer(
        broker,
        default_store=file_store,
        batch_size=2,
    )
    for i in range(3):
        producer.send('t', i)
    producer.close(topics=['t'], publisher=False)
    assert [type(e) for e in broker.events] == [EventBatch, EventBatch]
    broker.events.insert(
        1,
        EventBatch('t', [NewObjectEvent('t', 'inline', {'n': 1})]),
    )
    consumer: StreamConsumer[Any] = StreamConsumer(broker)
    assert list(consumer.iter_objects_with_metadata()) == [
        ({}, 0),
        ({}, 1),
        ({'n': 1}, 'inline'),
        ({}, 2),
    ]
    consumer.close()
    assert broker.closed


def test_subscriber_exhaustion_ends_stream(file_store: Store[Any]) -> None:
    broker = ListEventBroker()
    producer: StreamProducer[int] = StreamProducer(
        broker, default_store=file_store
    )
    producer.send('t', 1)
    consumer: StreamConsumer[int] = StreamConsumer(broker)
    assert list(consumer.iter_objects()) == [1]
    with pytest.raises(StopIteration):
        consumer.next()


def test_not_a_publisher_or_subscriber(
    topic_queue: queue.Queue[bytes],
) -> None:
    with pytest.raises(TypeError, match='Queue is not a publisher'):
        StreamProducer[Any](topic_queue)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match='Queue is not a subscriber'):
        StreamConsumer[Any](topic_queue)  # type: ignore[arg-type]


def test_close_with_a_single_topic_string(pair: Pair) -> None:
    producer, consumer = pair
    producer.send('t', 1)
    producer.close(topics='t')
    assert list(consumer.iter_objects()) == [1]


class NotEvents(ListEventBroker):
    def next_events(self) -> EventBatch:
        return 'surprise'  # type: ignore[return-value]


def test_event_subscriber_returning_garbage() -> None:
    consumer: StreamConsumer[Any] = StreamConsumer(NotEvents())
    with pytest.raises(EventDecodeError, match='returned a str'):
        consumer.next()


def test_threads_share_a_consumer(
    pair: Pair,
    topic_queue: queue.Queue[bytes],
) -> None:
    producer, consumer = pair
    for i in range(200):
        producer.send('t', i)
    producer.close(topics=['t'])
    # One end of stream per thread.
    topic_queue.put(event_to_bytes(EndOfStreamEvent('t')))
    topic_queue.put(event_to_bytes(EndOfStreamEvent('t')))
    results: list[list[int]] = [[], [], []]

    def work(out: list[int]) -> None:
        out.extend(consumer.iter_objects())

    threads = [threading.Thread(target=work, args=(r,)) for r in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(sum(results, [])) == list(range(200))
