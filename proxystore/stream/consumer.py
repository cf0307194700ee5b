"""The [`StreamConsumer`][proxystore.stream.consumer.StreamConsumer]."""

from __future__ import annotations

import collections
import threading
from collections.abc import Generator
from typing import TYPE_CHECKING
from typing import Any
from typing import Generic
from typing import TypeVar
from typing import cast

from proxystore.factory import Factory
from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy
from proxystore.store import get_store
from proxystore.store.base import find_open_store
from proxystore.store.config import StoreConfig
from proxystore.store.factory import StoreFactory
from proxystore.stream.events import EndOfStreamEvent
from proxystore.stream.events import Event
from proxystore.stream.events import EventBatch
from proxystore.stream.events import NewObjectEvent
from proxystore.stream.events import NewObjectKeyEvent
from proxystore.stream.events import ObjectEvent
from proxystore.stream.events import bytes_to_event
from proxystore.stream.exceptions import EventDecodeError
from proxystore.stream.exceptions import StreamClosedError
from proxystore.stream.filters import Filter
from proxystore.stream.protocols import EventSubscriber
from proxystore.stream.protocols import Subscriber
from proxystore.utils.closing import CloseOnExit

if TYPE_CHECKING:
    from typing_extensions import Self

T = TypeVar('T')

_EVENT_TYPES = (
    NewObjectEvent,
    NewObjectKeyEvent,
    EndOfStreamEvent,
    EventBatch,
)


class StreamConsumer(CloseOnExit, Generic[T]):
    """Iterator of proxies of the objects sent to a stream.

    Each event received through the subscriber becomes a proxy whose
    [`StoreFactory`][proxystore.store.factory.StoreFactory] fetches the
    object from the store named in the event: a store of this process
    (registered under that name, or open with the same configuration),
    else one created and registered from the configuration in the event.
    Resolving the proxy evicts the object if the producer sent it with
    `evict=True`.

    Iteration ends (`StopIteration`) at the first
    [`EndOfStreamEvent`][proxystore.stream.events.EndOfStreamEvent], i.e.,
    when a producer closes a topic (use one consumer per topic if several
    topics end independently), or when the subscriber's iteration ends.

    Example:
        ```python
        for proxy in consumer:
            process(proxy)  # the object is fetched on first use
        ```

    The consumer is thread-safe: threads sharing it each receive different
    objects. A message that is not a valid event raises
    [`EventDecodeError`][proxystore.stream.exceptions.EventDecodeError]
    from the call that received it; the consumer stays usable and the next
    call continues with the next message.

    Args:
        subscriber: Subscriber of the broker's messages (a
            [`Subscriber`][proxystore.stream.protocols.Subscriber], or an
            [`EventSubscriber`][proxystore.stream.protocols.EventSubscriber]
            that yields events).
        filter_: Optional filter of objects by their metadata: objects for
            which it returns `True` are skipped (and evicted if their event
            asks for eviction, so nothing is left behind in the store).

    Raises:
        TypeError: If `subscriber` implements neither subscriber protocol.
    """

    def __init__(
        self,
        subscriber: Subscriber | EventSubscriber,
        *,
        filter_: Filter | None = None,
    ) -> None:
        self._receives_bytes = isinstance(subscriber, Subscriber)
        if not (
            self._receives_bytes or isinstance(subscriber, EventSubscriber)
        ):
            raise TypeError(
                f'{type(subscriber).__name__} is not a subscriber: it needs '
                'next_message(), iteration and close() (see '
                'proxystore.stream.protocols.Subscriber).',
            )
        self.subscriber = subscriber
        self._filter = filter_
        self._pending: collections.deque[ObjectEvent | EndOfStreamEvent] = (
            collections.deque()
        )
        # First configuration seen of each store name.
        self._store_configs: dict[str, StoreConfig] = {}
        self._ended = False
        self._closed = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f'{type(self).__name__}(subscriber={self.subscriber!r})'

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> Proxy[T]:
        return self.next()

    def _receive(self) -> Event:
        if self._receives_bytes:
            subscriber = cast(Subscriber, self.subscriber)
            return bytes_to_event(subscriber.next_message())
        event = cast(EventSubscriber, self.subscriber).next_events()
        if not isinstance(event, _EVENT_TYPES):
            raise EventDecodeError(
                f'The subscriber returned a {type(event).__name__}, not a '
                'stream event.',
            )
        return event

    def _next_event(self) -> ObjectEvent:
        """Return the next event that delivers a kept object."""
        with self._lock:
            return self._next_event_locked()

    def _next_event_locked(self) -> ObjectEvent:
        if self._closed:
            raise StreamClosedError('The stream consumer is closed.')
        while True:
            if self._ended:
                raise StopIteration
            if not self._pending:
                try:
                    event = self._receive()
                except StopIteration:
                    self._ended = True
                    raise
                if isinstance(event, EventBatch):
                    self._pending.extend(event.events)
                else:
                    self._pending.append(event)
                continue
            event = self._pending.popleft()
            if isinstance(event, EndOfStreamEvent):
                self._ended = True
                self._pending.clear()
                continue
            if isinstance(event, NewObjectKeyEvent):
                self._store_configs.setdefault(
                    event.store_config.name,
                    event.store_config,
                )
            if self._filter is not None and self._filter(event.metadata):
                self._drop(event)
                continue
            return event

    def _drop(self, event: ObjectEvent) -> None:
        """Evict a filtered-out object if the producer asked for eviction."""
        if isinstance(event, NewObjectKeyEvent) and event.evict:
            factory: StoreFactory[Any, T] = StoreFactory(
                event.key,
                event.store_config,
            )
            factory.get_store().evict(event.key)

    @staticmethod
    def _factory(event: ObjectEvent) -> Factory[T]:
        if isinstance(event, NewObjectKeyEvent):
            return StoreFactory(
                event.key,
                event.store_config,
                evict=event.evict,
            )
        return SimpleFactory(cast(T, event.obj))

    def next(self) -> Proxy[T]:
        """Return a proxy of the next object of the stream.

        Blocks until an event arrives (as the subscriber does).

        Raises:
            StopIteration: If the stream ended.
            StreamClosedError: If the consumer is closed.
            EventDecodeError: If the next message is not a valid event.
        """
        return Proxy(self._factory(self._next_event()))

    def next_with_metadata(self) -> tuple[dict[str, Any], Proxy[T]]:
        """Return the metadata and a proxy of the next object.

        Raises:
            StopIteration: If the stream ended.
        """
        event = self._next_event()
        return event.metadata, Proxy(self._factory(event))

    def next_object(self) -> T:
        """Return the next object of the stream itself (no proxy).

        Raises:
            StopIteration: If the stream ended.
            ProxyResolveMissingKeyError: If the object is no longer in its
                store.
        """
        return self._factory(self._next_event()).resolve()

    def next_object_with_metadata(self) -> tuple[dict[str, Any], T]:
        """Return the metadata and the next object itself.

        Raises:
            StopIteration: If the stream ended.
        """
        event = self._next_event()
        return event.metadata, self._factory(event).resolve()

    def iter_with_metadata(
        self,
    ) -> Generator[tuple[dict[str, Any], Proxy[T]], None, None]:
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
            stores: Close the stores of this process that the objects seen
                resolve through (registered under the name in the event,
                or open with the same configuration). Do this only once
                every proxy from the stream has been resolved.
            subscriber: Close the subscriber.
        """
        if self._closed:
            return
        self._closed = True
        if subscriber:
            self.subscriber.close()
        if stores:
            for name, config in sorted(self._store_configs.items()):
                store = get_store(name) or find_open_store(config)
                if store is not None:
                    store.close()
