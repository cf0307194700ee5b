"""Stream producers over in-process queues."""

from __future__ import annotations

from typing import Any

from proxystore.store import Store
from proxystore.stream import StreamProducer
from proxystore.stream.shims.queue import QueueLike
from proxystore.stream.shims.queue import QueuePublisher


def queue_producer(
    topic_queue: QueueLike,
    store: Store[Any],
    **options: Any,
) -> StreamProducer[Any]:
    """A producer of topic `'t'` to `topic_queue`, storing in `store`."""
    return StreamProducer(
        QueuePublisher({'t': topic_queue}),
        default_store=store,
        **options,
    )
