from __future__ import annotations

from typing import NamedTuple

from proxystore.connectors import protocols
from proxystore.connectors.local import LocalConnector
from proxystore.connectors.protocols import Connector
from proxystore.connectors.protocols import DeferrableConnector
from proxystore.utils.buffers import BytesLike


def test_module_names() -> None:
    assert protocols.BytesLike is BytesLike
    assert protocols.KeyT.__bound__ is NamedTuple


def test_runtime_checkable() -> None:
    connector = LocalConnector()
    assert isinstance(connector, Connector)
    assert isinstance(connector, DeferrableConnector)
    assert not isinstance(object(), Connector)
    assert not isinstance(object(), DeferrableConnector)
