"""Queue shim: a spawned consumer process, over a multiprocessing queue."""

from __future__ import annotations

import multiprocessing
from typing import Any

import numpy as np

from proxystore.connectors.file import FileKey
from proxystore.proxy import extract
from proxystore.store import Store
from proxystore.stream import StreamConsumer
from proxystore.stream import StreamProducer
from proxystore.stream.shims.queue import QueuePublisher
from proxystore.stream.shims.queue import QueueSubscriber
from tests.helpers.files import stored_files
from tests.helpers.processes import started
from tests.helpers.stream import queue_producer


def consume_into(messages: Any, results: Any) -> None:
    """Consume a stream in a spawned process; report what it saw."""
    consumer: StreamConsumer[Any] = StreamConsumer(
        QueueSubscriber(messages, timeout=60),
    )
    seen = []
    for metadata, proxy in consumer.iter_with_metadata():
        # Resolving here fetches from the store rebuilt from the event.
        seen.append((metadata, type(proxy).__name__, repr(extract(proxy))))
    consumer.close(stores=True)
    results.put(seen)


def test_spawned_consumer(file_store: Store[Any]) -> None:
    context = multiprocessing.get_context('spawn')
    messages = context.Queue()
    results = context.Queue()
    process = context.Process(target=consume_into, args=(messages, results))
    with started(process):
        producer: StreamProducer[Any] = queue_producer(
            messages, file_store, batch_size=2
        )
        producer.send('t', 'text', metadata={'i': 0})
        producer.send('t', np.arange(5), metadata={'i': 1})
        producer.send('t', {'k': [1, 2]}, metadata={'i': 2}, evict=False)
        producer.close(topics=['t'])
        seen = results.get(timeout=60)
        process.join(timeout=60)
        assert process.exitcode == 0
    assert seen == [
        ({'i': 0}, 'Proxy', "'text'"),
        ({'i': 1}, 'Proxy', repr(np.arange(5))),
        ({'i': 2}, 'Proxy', "{'k': [1, 2]}"),
    ]
    # The consumer evicted what it resolved, except the evict=False object.
    (left,) = stored_files(file_store)
    assert not file_store.closed
    assert file_store.get(FileKey(left)) == {'k': [1, 2]}


def consume_inline(messages: Any, results: Any) -> None:
    """Consume an inline stream (no store) in a spawned process."""
    consumer: StreamConsumer[Any] = StreamConsumer(
        QueueSubscriber(messages, timeout=60),
    )
    results.put([(type(obj).__name__, obj) for obj in consumer])
    consumer.close()


def test_spawned_consumer_of_inline_objects() -> None:
    context = multiprocessing.get_context('spawn')
    messages = context.Queue()
    results = context.Queue()
    process = context.Process(target=consume_inline, args=(messages, results))
    with started(process):
        producer: StreamProducer[Any] = StreamProducer(
            QueuePublisher({'t': messages}),
        )
        producer.send('t', {'small': (1, b'\x00')})
        producer.send('t', 'text')
        producer.close(topics=['t'], publisher=False)
        seen = results.get(timeout=60)
        process.join(timeout=60)
        assert process.exitcode == 0
    # No store anywhere: the objects travelled in the events themselves.
    assert seen == [('dict', {'small': (1, b'\x00')}), ('str', 'text')]
