"""The [`StreamProducer`][proxystore.stream.producer.StreamProducer]."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from typing import TYPE_CHECKING
from typing import Any
from typing import Generic
from typing import TypeVar
from typing import cast

from proxystore.store.base import Store
from proxystore.store.config import StoreConfig
from proxystore.stream.events import EndOfStreamEvent
from proxystore.stream.events import Event
from proxystore.stream.events import EventBatch
from proxystore.stream.events import NewObjectEvent
from proxystore.stream.events import NewObjectKeyEvent
from proxystore.stream.events import check_json
from proxystore.stream.events import event_to_bytes
from proxystore.stream.events import key_to_json
from proxystore.stream.events import store_config_to_dict
from proxystore.stream.exceptions import NoStoreForTopicError
from proxystore.stream.exceptions import StreamClosedError
from proxystore.stream.filters import Filter
from proxystore.stream.protocols import EventPublisher
from proxystore.stream.protocols import Publisher
from proxystore.utils.closing import CloseOnExit

if TYPE_CHECKING:
    pass

T = TypeVar('T')


@dataclasses.dataclass
class _TopicBuffer:
    """What a topic has not published yet."""

    # Objects in their store whose events are not published yet.
    events: list[NewObjectKeyEvent] = dataclasses.field(default_factory=list)
    # Objects waiting to be aggregated (with their evict flags).
    objects: list[tuple[NewObjectEvent, bool]] = dataclasses.field(
        default_factory=list,
    )


class StreamProducer(CloseOnExit, Generic[T]):
    """Sends objects to streams: objects go to a store, events to a broker.

    `send(topic, obj)` puts the object in the topic's store and publishes
    a small [`NewObjectKeyEvent`][proxystore.stream.events.NewObjectKeyEvent]
    (key, store configuration, metadata) through the publisher; a
    [`StreamConsumer`][proxystore.stream.consumer.StreamConsumer] turns it
    back into a proxy of the object.

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

    Batching: events of a topic are published once `batch_size` objects
    are pending, as one
    [`EventBatch`][proxystore.stream.events.EventBatch] message. With an
    `aggregator`, the pending objects are instead combined into one object
    (`aggregator(list_of_objects)`), stored and published as one event
    whose metadata is the union of the objects' metadata (later keys win)
    and whose `evict` flag is set only if every object asked for eviction.
    Call `flush()` to publish what is pending earlier.

    Errors lose nothing: an object that cannot be put (or metadata that
    is not JSON) makes `send()` raise and is not sent, the rest of the
    stream is unaffected; if publishing fails, the error is raised and the
    pending events stay buffered, so the next send, `flush()` or `close()`
    publishes them.

    The producer is thread-safe.

    Args:
        publisher: Publisher of messages to the broker (a
            [`Publisher`][proxystore.stream.protocols.Publisher], or an
            [`EventPublisher`][proxystore.stream.protocols.EventPublisher]
            that takes events).
        aggregator: Optional callable combining a batch of objects into one.
        batch_size: Number of objects of a topic to buffer before they are
            published (or aggregated).
        default_store: Store of the topics not in `stores`.
        filter_: Optional filter of objects by their metadata: objects for
            which it returns `True` are dropped in `send()` (see
            [`filters`][proxystore.stream.filters]).
        stores: Store of each topic (topic name to store).

    Raises:
        TypeError: If `publisher` implements neither publisher protocol.
        ValueError: If `batch_size` is less than one.
        EventEncodeError: If the configuration of a store cannot be sent in
            an event (options must be JSON values, custom serializers must
            be importable module-level functions).
    """

    def __init__(
        self,
        publisher: Publisher | EventPublisher,
        *,
        aggregator: Callable[[list[T]], T] | None = None,
        batch_size: int = 1,
        default_store: Store[Any] | None = None,
        filter_: Filter | None = None,
        stores: Mapping[str, Store[Any]] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(
                f'batch_size must be at least 1, got {batch_size}.',
            )
        self._sends_bytes = isinstance(publisher, Publisher)
        if not (self._sends_bytes or isinstance(publisher, EventPublisher)):
            raise TypeError(
                f'{type(publisher).__name__} is not a publisher: it needs '
                'send_message(topic, message) and close() (see '
                'proxystore.stream.protocols.Publisher).',
            )
        self.publisher = publisher
        self._aggregator = aggregator
        self._batch_size = batch_size
        self._default_store = default_store
        self._filter = filter_
        self._stores = dict(stores or {})
        # Configurations are computed (and checked) once per store.
        self._configs = {
            id(store): _sendable_config(store) for store in self._all_stores()
        }
        self._buffers: dict[str, _TopicBuffer] = {}
        self._lock = threading.RLock()
        self._closed = False

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(publisher={self.publisher!r}, '
            f'batch_size={self._batch_size})'
        )

    def _all_stores(self) -> list[Store[Any]]:
        stores = list(self._stores.values())
        if self._default_store is not None:
            stores.append(self._default_store)
        unique = {id(store): store for store in stores}
        return list(unique.values())

    def _check_open(self) -> None:
        if self._closed:
            raise StreamClosedError('The stream producer is closed.')

    def _store_of(self, topic: str) -> Store[Any]:
        store = self._stores.get(topic, self._default_store)
        if store is None:
            raise NoStoreForTopicError(
                f'No store for topic {topic!r}: pass one in '
                f'stores={{{topic!r}: store}} or set default_store.',
            )
        return store

    def _put(
        self,
        topic: str,
        obj: Any,
        evict: bool,
        metadata: dict[str, Any],
    ) -> NewObjectKeyEvent:
        """Put `obj` in the topic's store and return its event."""
        store = self._store_of(topic)
        key = store.put(obj)
        try:
            key_to_json(key)
        except Exception:
            store.evict(key)
            raise
        return NewObjectKeyEvent(
            topic=topic,
            key=key,
            store_config=self._configs[id(store)],
            evict=evict,
            metadata=metadata,
        )

    def send(
        self,
        topic: str,
        obj: T,
        *,
        evict: bool = True,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        """Send an object to the stream of a topic.

        The object is put in the topic's store now; its event is published
        once `batch_size` objects of the topic are pending (at once with the
        default `batch_size=1`).

        Args:
            topic: Topic of the stream.
            obj: Object to send.
            evict: Evict the object from the store once a consumer resolves
                it (or drops it with its filter).
            metadata: Metadata sent along with the event (a JSON object);
                the producer's and the consumer's filters look at it.

        Raises:
            StreamClosedError: If the producer is closed.
            NoStoreForTopicError: If there is no store for the topic.
            EventEncodeError: If the metadata is not JSON-compatible.
        """
        metadata = {} if metadata is None else dict(metadata)
        check_json(metadata, 'metadata')
        with self._lock:
            self._check_open()
            self._store_of(topic)
            if self._filter is not None and self._filter(metadata):
                return
            buffer = self._buffers.setdefault(topic, _TopicBuffer())
            if self._aggregator is None:
                buffer.events.append(self._put(topic, obj, evict, metadata))
                pending = len(buffer.events)
            else:
                event = NewObjectEvent(topic=topic, obj=obj, metadata=metadata)
                buffer.objects.append((event, evict))
                pending = len(buffer.objects)
            if pending >= self._batch_size:
                self._flush(topic, buffer)

    def _aggregate(self, topic: str, buffer: _TopicBuffer) -> None:
        """Store the aggregate of the buffered objects; queue its event."""
        assert self._aggregator is not None
        objects = [event.obj for event, _ in buffer.objects]
        metadata: dict[str, Any] = {}
        for event, _ in buffer.objects:
            metadata.update(event.metadata)
        evict = all(evict for _, evict in buffer.objects)
        aggregate = self._aggregator(objects)
        buffer.events.append(self._put(topic, aggregate, evict, metadata))
        buffer.objects.clear()

    def _flush(
        self,
        topic: str,
        buffer: _TopicBuffer,
        *,
        end: bool = False,
    ) -> None:
        """Publish what the topic has pending (and its end if `end`)."""
        if buffer.objects:
            self._aggregate(topic, buffer)
        events: list[NewObjectEvent | NewObjectKeyEvent | EndOfStreamEvent]
        events = [*buffer.events]
        if end:
            events.append(EndOfStreamEvent(topic=topic))
        if not events:
            return
        self._publish(
            topic,
            events[0] if len(events) == 1 else EventBatch(topic, events),
        )
        buffer.events.clear()

    def _publish(self, topic: str, event: Event) -> None:
        if self._sends_bytes:
            publisher = cast(Publisher, self.publisher)
            publisher.send_message(topic, event_to_bytes(event))
        else:
            cast(EventPublisher, self.publisher).send_events(event)

    def flush(self) -> None:
        """Publish the pending objects of every topic.

        Raises:
            StreamClosedError: If the producer is closed.
        """
        with self._lock:
            self._check_open()
            for topic, buffer in self._buffers.items():
                self._flush(topic, buffer)

    def flush_topic(self, topic: str) -> None:
        """Publish the pending objects of a topic.

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
        (in the same message if any are pending). Consumers of the topic
        stop iterating there.

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
            stores: Close the stores of the producer (`default_store` and
                those in `stores`).
        """
        with self._lock:
            if self._closed:
                return
            self.close_topics(
                *([topics] if isinstance(topics, str) else topics)
            )
            self.flush()
            self._closed = True
        if publisher:
            self.publisher.close()
        if stores:
            for store in self._all_stores():
                store.close()


def _sendable_config(store: Store[Any]) -> StoreConfig:
    """Return the configuration of a store after checking it encodes."""
    config = store.config()
    check_json(
        store_config_to_dict(config),
        f'configuration of store {store.name!r}',
    )
    return config
