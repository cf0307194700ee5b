"""Streaming objects through a store; only small events use the broker.

A [`StreamProducer`][proxystore.stream.producer.StreamProducer] puts each
object in a [`Store`][proxystore.store.base.Store] and publishes a small
event (key, store configuration, metadata) through a message broker; a
[`StreamConsumer`][proxystore.stream.consumer.StreamConsumer] turns the
events back into proxies, so bulk data moves once, directly from the store
to the process that uses it. Brokers plug in through the
[`Publisher`][proxystore.stream.protocols.Publisher] and
[`Subscriber`][proxystore.stream.protocols.Subscriber] protocols (see
`proxystore.stream.shims`).
"""

from __future__ import annotations

from proxystore.stream.consumer import StreamConsumer
from proxystore.stream.producer import StreamProducer

__all__ = ['StreamConsumer', 'StreamProducer']
