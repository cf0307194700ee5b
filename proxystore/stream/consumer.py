"""The [`StreamConsumer`][proxystore.stream.consumer.StreamConsumer]."""

from __future__ import annotations

import collections
import logging
import sys
import threading
from collections.abc import Generator
from typing import Any
from typing import Generic
from typing import TypeVar
from typing import Union

from proxystore.proxy import Proxy
from proxystore.store import get_or_create_store
from proxystore.store import get_store
from proxystore.store import unregister_store
from proxystore.store.base import Store
from proxystore.store.base import find_open_store
from proxystore.stream.allowlist import check_connector
from proxystore.stream.events import EndOfStreamEvent
from proxystore.stream.events import Event
from proxystore.stream.events import EventBatch
from proxystore.stream.events import NewObjectEvent
from proxystore.stream.events import NewObjectKeyEvent
from proxystore.stream.events import bytes_to_event
from proxystore.stream.exceptions import EventDecodeError
from proxystore.stream.exceptions import StreamClosedError
from proxystore.stream.protocols import EventSubscriber
from proxystore.stream.protocols import Filter
from proxystore.stream.protocols import MessageSubscriber
from proxystore.stream.protocols import Subscriber
from proxystore.utils.closing import CloseOnExit

if sys.version_info >= (3, 11):  # pragma: >=3.11 cover
    from typing import Self
else:  # pragma: <3.11 cover
    from typing_extensions import Self

logger = logging.getLogger(__name__)

T = TypeVar('T')

_ObjectEvent = Union[NewObjectEvent, NewObjectKeyEvent]  # noqa: UP007


class StreamConsumer(CloseOnExit, Generic[T]):
    """Iterator of the objects sent to a stream.

    Each [`NewObjectKeyEvent`][proxystore.stream.events.NewObjectKeyEvent]
    received through the subscriber becomes a proxy of the object
    (`store.proxy_from_key(key, evict=event.evict)`), from the store named
    in the event: the store registered in this process under that name, a
    store open in this process with the same configuration, else one
    created from the configuration in the event and registered (cached
    per topic). An object sent inline
    ([`NewObjectEvent`][proxystore.stream.events.NewObjectEvent]) is
    returned as it is.

    Iteration stops (`StopIteration`) at each
    [`EndOfStreamEvent`][proxystore.stream.events.EndOfStreamEvent], i.e.,
    when a producer closes a topic (use one consumer per topic if several
    topics end independently), and when the subscriber's iteration ends.

    Example:
        ```python
        for proxy in consumer:
            process(proxy)  # the object is fetched on first use
        ```

    The consumer is thread-safe: threads sharing it each receive different
    objects. A message that is not a valid event (or names something the
    [allow-list][proxystore.stream.allowlist] refuses) raises
    [`EventDecodeError`][proxystore.stream.exceptions.EventDecodeError]
    from the call that received it; the consumer stays usable and the next
    call continues with the next message.

    Args:
        subscriber: Subscriber of the broker's messages (a
            [`MessageSubscriber`][proxystore.stream.protocols.MessageSubscriber],
            or an
            [`EventSubscriber`][proxystore.stream.protocols.EventSubscriber]
            that yields event batches).
        filter_: Optional filter of objects by their metadata: objects for
            which it returns `True` are skipped (and evicted if their event
            asks for eviction, so nothing is left behind in the store).

    Raises:
        TypeError: If `subscriber` implements neither subscriber protocol.
    """

    def __init__(
        self,
        subscriber: Subscriber,
        *,
        filter_: Filter | None = None,
    ) -> None:
        self._receives_bytes = isinstance(subscriber, MessageSubscriber)
        if not (
            self._receives_bytes or isinstance(subscriber, EventSubscriber)
        ):
            raise TypeError(
                f'{type(subscriber).__name__} is not a subscriber: it needs '
                'next_message(), iteration and close() (see '
                'proxystore.stream.protocols.MessageSubscriber).',
            )
        self.subscriber = subscriber
        self._filter = filter_
        self._pending: collections.deque[Event] = collections.deque()
        # Store of each topic, found or created on first use.
        self._stores: dict[str, Store[Any]] = {}
        self._closed = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f'{type(self).__name__}(subscriber={self.subscriber!r})'

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> T | Proxy[T]:
        return self.next()

    def _receive(self) -> EventBatch:
        if self._receives_bytes:
            assert isinstance(self.subscriber, MessageSubscriber)
            event = bytes_to_event(self.subscriber.next_message())
        else:
            assert isinstance(self.subscriber, EventSubscriber)
            event = self.subscriber.next_events()
        if isinstance(event, EventBatch):
            return event
        if isinstance(
            event,
            (EndOfStreamEvent, NewObjectEvent, NewObjectKeyEvent),
        ):
            return EventBatch(event.topic, [event])
        raise EventDecodeError(
            f'The subscriber returned a {type(event).__name__}, not a '
            'stream event batch.',
        )

    def _store(self, event: NewObjectKeyEvent) -> Store[Any]:
        """Return the store of an event's object (cached per topic)."""
        config = event.store_config
        store = self._stores.get(event.topic)
        if store is None or store.name != config.name:
            store = get_store(config.name) or find_open_store(config)
            if store is None:
                # Events from an EventSubscriber were not decoded here:
                # check their connector kinds before importing them.
                check_connector(
                    config.connector.kind,
                    config.connector.options,
                )
                store = get_or_create_store(config, register=True)
                logger.debug('Created store %r for the stream', config.name)
            self._stores[event.topic] = store
        return store

    def _next_event(self) -> _ObjectEvent:
        """Return the next event that delivers a kept object."""
        with self._lock:
            if self._closed:
                raise StreamClosedError('The stream consumer is closed.')
            while True:
                if not self._pending:
                    batch = self._receive()
                    logger.debug(
                        'Received %d event(s) of topic %r',
                        len(batch.events),
                        batch.topic,
                    )
                    self._pending.extend(batch.events)
                    continue
                event = self._pending.popleft()
                if isinstance(event, EndOfStreamEvent):
                    logger.debug('End of stream of topic %r', event.topic)
                    raise StopIteration
                if self._filter is not None and self._filter(event.metadata):
                    self._drop(event)
                    continue
                return event

    def _drop(self, event: _ObjectEvent) -> None:
        """Evict a filtered-out object if the producer asked for eviction."""
        logger.debug('Filter dropped an object of topic %r', event.topic)
        if isinstance(event, NewObjectKeyEvent) and event.evict:
            self._store(event).evict(event.get_key())

    def _proxy(self, event: _ObjectEvent) -> T | Proxy[T]:
        if isinstance(event, NewObjectEvent):
            obj: T = event.obj
            return obj
        store = self._store(event)
        return store.proxy_from_key(event.get_key(), evict=event.evict)

    def _object(self, event: _ObjectEvent) -> T:
        if isinstance(event, NewObjectEvent):
            obj: T = event.obj
            return obj
        store = self._store(event)
        key = event.get_key()
        found = store.get(key)
        if found is None:
            raise ValueError(
                f'Store(name="{store.name}") returned None for key={key}.',
            )
        if event.evict:
            store.evict(key)
        stored: T = found
        return stored

    def next(self) -> T | Proxy[T]:
        """Return the next object of the stream, as a proxy.

        Objects sent inline are returned as they are.

        Blocks until an event arrives (as the subscriber does).

        Raises:
            StopIteration: If the stream ended (an end-of-stream event).
            StreamClosedError: If the consumer is closed.
            EventDecodeError: If the next message is not a valid event.
        """
        return self._proxy(self._next_event())

    def next_with_metadata(self) -> tuple[dict[str, Any], T | Proxy[T]]:
        """Return the metadata and the next object (as by `next()`).

        Raises:
            StopIteration: If the stream ended.
        """
        event = self._next_event()
        return event.metadata, self._proxy(event)

    def next_object(self) -> T:
        """Return the next object of the stream itself (no proxy).

        The object is fetched from its store now (and evicted if its event
        asks for eviction).

        Raises:
            StopIteration: If the stream ended.
            ValueError: If the store returned `None` for the key (the
                object is no longer in its store).
        """
        return self._object(self._next_event())

    def next_object_with_metadata(self) -> tuple[dict[str, Any], T]:
        """Return the metadata and the next object itself.

        Raises:
            StopIteration: If the stream ended.
            ValueError: If the store returned `None` for the key.
        """
        event = self._next_event()
        return event.metadata, self._object(event)

    def iter_with_metadata(
        self,
    ) -> Generator[tuple[dict[str, Any], T | Proxy[T]], None, None]:
        """Iterate over `(metadata, proxy)` pairs until the stream ends."""
        while True:
            try:
                item = self.next_with_metadata()
            except StopIteration:
                return
            yield item

    def iter_objects(self) -> Generator[T, None, None]:
        """Iterate over the objects themselves until the stream ends."""
        while True:
            try:
                item = self.next_object()
            except StopIteration:
                return
            yield item

    def iter_objects_with_metadata(
        self,
    ) -> Generator[tuple[dict[str, Any], T], None, None]:
        """Iterate over `(metadata, object)` pairs until the stream ends."""
        while True:
            try:
                item = self.next_object_with_metadata()
            except StopIteration:
                return
            yield item

    def close(self, *, stores: bool = False, subscriber: bool = True) -> None:
        """Close the consumer.

        Closing a closed consumer does nothing.

        Args:
            stores: Close and unregister the stores the consumer used. Do
                this only once every proxy from the stream was resolved.
            subscriber: Close the subscriber.
        """
        if self._closed:
            return
        self._closed = True
        if subscriber:
            self.subscriber.close()
        if stores:
            for store in {id(s): s for s in self._stores.values()}.values():
                store.close()
                unregister_store(store)
