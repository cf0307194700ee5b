"""Streaming objects through a store; only small events use the broker.

A [`StreamProducer`][proxystore.stream.producer.StreamProducer] puts
objects in a [`Store`][proxystore.store.base.Store] and publishes small
events (key, store configuration, metadata) through a message broker; a
[`StreamConsumer`][proxystore.stream.consumer.StreamConsumer] turns the
events back into proxies, so bulk data moves once, directly from the store
to the process that uses it. Topics without a store send their (small)
objects inline. Brokers plug in through the
[`MessagePublisher`][proxystore.stream.protocols.MessagePublisher] and
[`MessageSubscriber`][proxystore.stream.protocols.MessageSubscriber]
protocols (see `proxystore.stream.shims`).

Importing this package emits an
[`ExperimentalWarning`][proxystore.warnings.ExperimentalWarning].
"""

from __future__ import annotations

import warnings

from proxystore.stream.consumer import StreamConsumer
from proxystore.stream.producer import StreamProducer
from proxystore.warnings import ExperimentalWarning

__all__ = ['ExperimentalWarning', 'StreamConsumer', 'StreamProducer']

warnings.warn(
    'Streaming is an experimental feature and may change in the future.',
    category=ExperimentalWarning,
    stacklevel=2,
)
