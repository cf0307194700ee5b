"""Fixtures shared by the stream tests."""

from __future__ import annotations

import pathlib
import queue
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.store import Store
from proxystore.store import _stores
from proxystore.store import unregister_store
from proxystore.stream import StreamConsumer
from proxystore.stream import StreamProducer
from proxystore.stream.shims.queue import QueueSubscriber
from tests.helpers.stream import queue_producer


@pytest.fixture(autouse=True)
def _empty_registry() -> Iterator[None]:
    """Leave no store registered after a test."""
    yield
    for name in list(_stores):
        unregister_store(name)


@pytest.fixture
def store_name() -> str:
    return f'stream-{uuid.uuid4().hex[:10]}'


@pytest.fixture
def file_store(
    tmp_path: pathlib.Path, store_name: str
) -> Iterator[Store[Any]]:
    # clear=False: stores other processes rebuild from the config must not
    # delete the directory when they close; tmp_path cleans up.
    connector = FileConnector(str(tmp_path / 'store'), clear=False)
    with Store(store_name, connector) as store:
        yield store


@pytest.fixture
def topic_queue() -> queue.Queue[bytes]:
    return queue.Queue()


@pytest.fixture
def pair(
    file_store: Store[Any],
    topic_queue: queue.Queue[bytes],
) -> tuple[StreamProducer[Any], StreamConsumer[Any]]:
    """A producer of topic `'t'` and its consumer, over a `queue.Queue`."""
    producer = queue_producer(topic_queue, file_store)
    consumer: StreamConsumer[Any] = StreamConsumer(
        QueueSubscriber(topic_queue, timeout=10),
    )
    return producer, consumer
