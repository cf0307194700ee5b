"""The [`StreamProducer`][proxystore.stream.producer.StreamProducer]."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from typing import Any
from typing import Generic
from typing import TypeVar

from proxystore.store import unregister_store
from proxystore.store.base import Store
from proxystore.stream._codec import encode_value
from proxystore.stream.events import EndOfStreamEvent
from proxystore.stream.events import Event
from proxystore.stream.events import EventBatch
from proxystore.stream.events import NewObjectEvent
from proxystore.stream.events import NewObjectKeyEvent
from proxystore.stream.events import event_to_bytes
from proxystore.stream.events import store_config_to_dict
from proxystore.stream.exceptions import EventEncodeError
from proxystore.stream.exceptions import StreamClosedError
from proxystore.stream.exceptions import TopicClosedError
from proxystore.stream.protocols import EventPublisher
from proxystore.stream.protocols import Filter
from proxystore.stream.protocols import MessagePublisher
from proxystore.stream.protocols import Publisher
from proxystore.utils.closing import CloseOnExit

logger = logging.getLogger(__name__)

T = TypeVar('T')


@dataclasses.dataclass
class _Item:
    """An object sent to a topic, not stored or published yet."""

    obj: Any
    evict: bool
    metadata: dict[str, Any]


@dataclasses.dataclass
class _TopicBuffer:
    """What a topic has not published yet."""

    # Objects sent but not yet stored (or made inline events).
    items: list[_Item] = dataclasses.field(default_factory=list)
    # Events ready to publish (their objects are stored).
    events: list[Event] = dataclasses.field(default_factory=list)


class StreamProducer(CloseOnExit, Generic[T]):
    """Sends objects to streams: objects go to a store, events to a broker.

    `send(topic, obj)` buffers the object; once `batch_size` objects of the
    topic are buffered, they are put in the topic's store with one
    `put_batch()` and one
    [`EventBatch`][proxystore.stream.events.EventBatch] of
    [`NewObjectKeyEvent`][proxystore.stream.events.NewObjectKeyEvent]s
    (key, store configuration, metadata) is published; a
    [`StreamConsumer`][proxystore.stream.consumer.StreamConsumer] turns them
    back into proxies. A topic without a store (`stores[topic]` is `None`,
    or it is not in `stores` and there is no `default_store`) sends its
    objects **inline**, in
    [`NewObjectEvent`][proxystore.stream.events.NewObjectEvent]s (for small
    objects: inline objects must be encodable in an event, see
    [`events`][proxystore.stream.events]).

    Example:
        ```python
        import queue

        from proxystore.connectors.local import LocalConnector
        from proxystore.store import Store
        from proxystore.stream import StreamConsumer
        from proxystore.stream import StreamProducer
        from proxystore.stream.shims.queue import QueuePublisher
        from proxystore.stream.shims.queue import QueueSubscriber

        q = queue.Queue()
        with Store('stream-doc', LocalConnector(), register=True) as store:
            producer = StreamProducer(
                QueuePublisher({'numbers': q}),
                default_store=store,
            )
            consumer = StreamConsumer(QueueSubscriber(q))
            for i in range(3):
                producer.send('numbers', [i], metadata={'index': i})
            producer.close(topics=['numbers'])
            assert [list(p) for p in consumer] == [[0], [1], [2]]
        ```

    Aggregation: with an `aggregator`, the buffered objects of a topic are
    combined into one object (`aggregator(list_of_objects)`) and sent as
    one event whose metadata is the union of the objects' metadata (later
    keys win) and whose `evict` flag is set if any object asked for
    eviction.

    Errors lose nothing: metadata (or an inline object) that cannot be
    encoded makes `send()` raise and is not buffered; an object the store
    cannot serialize is dropped and its error raised by the call that
    flushed it (`send()` with the default `batch_size=1`), the other
    objects stay pending; if the store or the
    publisher fails, the error is raised and everything stays buffered, so
    the next send, `flush()` or `close()` publishes it.

    The producer is thread-safe.

    Args:
        publisher: Publisher of messages to the broker (a
            [`MessagePublisher`][proxystore.stream.protocols.MessagePublisher],
            or an
            [`EventPublisher`][proxystore.stream.protocols.EventPublisher]
            that takes event batches).
        aggregator: Optional callable combining a batch of objects into one.
        batch_size: Number of objects of a topic to buffer before they are
            stored and published (or aggregated).
        default_store: Store of the topics not in `stores` (`None`: send
            their objects inline).
        filter_: Optional filter of objects by their metadata: objects for
            which it returns `True` are dropped in `send()` (see
            [`filters`][proxystore.stream.filters]).
        stores: Store of each topic (topic name to store, or to `None` to
            send that topic's objects inline).

    Raises:
        TypeError: If `publisher` implements neither publisher protocol.
        ValueError: If `batch_size` is less than one.
        EventEncodeError: If the configuration of a store cannot be sent in
            an event (a custom serializer must be a module-level function).
    """

    def __init__(
        self,
        publisher: Publisher,
        *,
        aggregator: Callable[[list[T]], T] | None = None,
        batch_size: int = 1,
        default_store: Store[Any] | None = None,
        filter_: Filter | None = None,
        stores: Mapping[str, Store[Any] | None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(
                f'batch_size must be at least 1, got {batch_size}.',
            )
        self._sends_bytes = isinstance(publisher, MessagePublisher)
        if not (self._sends_bytes or isinstance(publisher, EventPublisher)):
            raise TypeError(
                f'{type(publisher).__name__} is not a publisher: it needs '
                'send_message(topic, message) and close() (see '
                'proxystore.stream.protocols.MessagePublisher).',
            )
        self.publisher = publisher
        self._aggregator = aggregator
        self._batch_size = batch_size
        self._default_store = default_store
        self._filter = filter_
        self._stores = dict(stores or {})
        # Configurations are computed (and checked) once per store.
        self._configs = {id(s): s.config() for s in self._all_stores()}
        for config in self._configs.values():
            store_config_to_dict(config)
        self._buffers: dict[str, _TopicBuffer] = {}
        self._closed_topics: set[str] = set()
        self._lock = threading.RLock()
        self._closed = False

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(publisher={self.publisher!r}, '
            f'batch_size={self._batch_size})'
        )

    def _all_stores(self) -> list[Store[Any]]:
        stores = [s for s in self._stores.values() if s is not None]
        if self._default_store is not None:
            stores.append(self._default_store)
        unique = {id(store): store for store in stores}
        return list(unique.values())

    def _check_open(self) -> None:
        if self._closed:
            raise StreamClosedError('The stream producer is closed.')

    def _store_of(self, topic: str) -> Store[Any] | None:
        if topic in self._stores:
            return self._stores[topic]
        return self._default_store

    def send(
        self,
        topic: str,
        obj: T,
        *,
        evict: bool = True,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Send an object to the stream of a topic.

        The object is buffered; once `batch_size` objects of the topic are
        buffered (at once with the default `batch_size=1`), they are
        stored (or made inline events) and published.

        Args:
            topic: Topic of the stream.
            obj: Object to send.
            evict: Evict the object from the store once a consumer resolves
                it (or drops it with its filter).
            metadata: Metadata sent along with the event; the producer's
                and the consumer's filters look at it.

        Raises:
            StreamClosedError: If the producer is closed.
            TopicClosedError: If the topic was closed (`close_topics()`).
            EventEncodeError: If the metadata, or the object of a topic
                without a store (and without aggregator), cannot be encoded
                in an event.
        """
        metadata = {} if metadata is None else dict(metadata)
        encode_value(metadata, 'metadata')
        with self._lock:
            self._check_open()
            if topic in self._closed_topics:
                raise TopicClosedError(f'Topic "{topic}" has been closed.')
            if self._filter is not None and self._filter(metadata):
                logger.debug('Filter dropped an object of topic %r', topic)
                return
            if self._store_of(topic) is None and self._aggregator is None:
                encode_value(obj, 'inline object')
            buffer = self._buffers.setdefault(topic, _TopicBuffer())
            buffer.items.append(_Item(obj, evict, metadata))
            if len(buffer.items) >= self._batch_size:
                self._flush(topic, buffer)

    def _aggregate(self, buffer: _TopicBuffer) -> _Item:
        assert self._aggregator is not None
        metadata: dict[str, Any] = {}
        for item in buffer.items:
            metadata.update(item.metadata)
        return _Item(
            self._aggregator([item.obj for item in buffer.items]),
            any(item.evict for item in buffer.items),
            metadata,
        )

    def _make_events(self, topic: str, buffer: _TopicBuffer) -> None:
        """Store (or inline) the buffered objects; queue their events."""
        if not buffer.items:
            return
        items = buffer.items
        if self._aggregator is not None and len(items) > 0:
            items = [self._aggregate(buffer)]
        store = self._store_of(topic)
        events: list[Event]
        if store is None:
            events = [NewObjectEvent(topic, i.obj, i.metadata) for i in items]
            if self._aggregator is not None:
                try:
                    encode_value(items[0].obj, 'inline object')
                except EventEncodeError as e:
                    count, buffer.items = len(buffer.items), []
                    raise EventEncodeError(
                        f'The aggregate of {count} object(s) of '
                        f'topic "{topic}" cannot be sent inline and was '
                        f'dropped: {e}',
                    ) from e
        else:
            keys = self._put_batch(topic, store, buffer, items)
            config = self._configs[id(store)]
            events = [
                NewObjectKeyEvent.from_key(
                    key,
                    evict=item.evict,
                    metadata=item.metadata,
                    store_config=config,
                    topic=topic,
                )
                for key, item in zip(keys, items, strict=True)
            ]
        buffer.events.extend(events)
        buffer.items = []

    def _put_batch(
        self,
        topic: str,
        store: Store[Any],
        buffer: _TopicBuffer,
        items: list[_Item],
    ) -> list[Any]:
        try:
            return store.put_batch([item.obj for item in items])
        except Exception:
            if self._aggregator is not None:
                raise
            # put_batch serializes everything before writing: find the
            # objects that do not serialize, drop them, keep the others.
            errors: list[BaseException] = []
            kept = []
            for item in items:
                try:
                    store.serializer(item.obj)
                except Exception as e:  # noqa: BLE001
                    errors.append(e)
                else:
                    kept.append(item)
            if not errors:
                raise
            buffer.items = kept
            logger.warning(
                'Dropped %d object(s) of topic %r that the store cannot '
                'serialize (%d still pending): %s',
                len(errors),
                topic,
                len(kept),
                '; '.join(repr(e) for e in errors),
            )
            raise errors[0] from None

    def _flush(
        self,
        topic: str,
        buffer: _TopicBuffer,
        *,
        end: bool = False,
    ) -> None:
        """Publish what the topic has pending (and its end if `end`)."""
        self._make_events(topic, buffer)
        events = [*buffer.events]
        if end:
            events.append(EndOfStreamEvent(topic))
        if not events:
            return
        batch = EventBatch(topic, events)
        if self._sends_bytes:
            assert isinstance(self.publisher, MessagePublisher)
            self.publisher.send_message(topic, event_to_bytes(batch))
        else:
            assert isinstance(self.publisher, EventPublisher)
            self.publisher.send_events(batch)
        buffer.events.clear()
        logger.debug(
            'Published %d event(s) to topic %r%s',
            len(events),
            topic,
            ' (end of stream)' if end else '',
        )

    def flush(self) -> None:
        """Store and publish the pending objects of every topic.

        Raises:
            StreamClosedError: If the producer is closed.
        """
        with self._lock:
            self._check_open()
            for topic, buffer in self._buffers.items():
                self._flush(topic, buffer)

    def flush_topic(self, topic: str) -> None:
        """Store and publish the pending objects of a topic.

        Raises:
            StreamClosedError: If the producer is closed.
        """
        with self._lock:
            self._check_open()
            buffer = self._buffers.get(topic)
            if buffer is not None:
                self._flush(topic, buffer)

    def close_topics(self, *topics: str) -> None:
        """End the streams of topics.

        Publishes each topic's pending objects followed by an
        [`EndOfStreamEvent`][proxystore.stream.events.EndOfStreamEvent]
        (in the same batch). Consumers of the topic stop iterating there,
        and later `send()`s to the topic raise `TopicClosedError`.

        Raises:
            StreamClosedError: If the producer is closed.
        """
        with self._lock:
            self._check_open()
            for topic in topics:
                buffer = self._buffers.pop(topic, _TopicBuffer())
                try:
                    self._flush(topic, buffer, end=True)
                except BaseException:
                    self._buffers[topic] = buffer
                    raise
                self._closed_topics.add(topic)

    def close(
        self,
        *,
        topics: Iterable[str] = (),
        publisher: bool = True,
        stores: bool = False,
    ) -> None:
        """Publish everything pending and close the producer.

        Closing a closed producer does nothing. If publishing fails, the
        error is raised and the producer stays open (nothing is lost).

        Args:
            topics: Topics whose streams to end (see `close_topics()`); a
                single string is one topic.
            publisher: Close the publisher.
            stores: Close (and unregister) the stores of the producer
                (`default_store` and those in `stores`).
        """
        with self._lock:
            if self._closed:
                return
            self.close_topics(
                *([topics] if isinstance(topics, str) else topics),
            )
            self.flush()
            self._closed = True
        if publisher:
            self.publisher.close()
        if stores:
            for store in self._all_stores():
                store.close()
                unregister_store(store)
