"""Connector protocols: the byte-level interface every storage medium offers.

A connector stores opaque bytes under keys it creates. Keys are small
`NamedTuple`s (hashable, picklable, readable `repr`). `config()` returns
everything needed to rebuild an equivalent connector, possibly in another
process, with `from_config()`.

Connectors accept any bytes-like object (`bytes`, `bytearray`,
`memoryview`, ...) when storing. `get` may return `bytes` or a writable
buffer owned by the caller (e.g. `bytearray`), which the caller may hand to
`proxystore.serialize.deserialize` without another copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from typing import NamedTuple
from typing import Protocol
from typing import TypeVar
from typing import runtime_checkable

from typing_extensions import Buffer
from typing_extensions import Self

from proxystore.utils.buffers import BytesLike

__all__ = [
    'BufferList',
    'BytesLike',
    'Connector',
    'ConnectorBytes',
    'DeferrableConnector',
    'KeyT',
    'accepts_buffer_lists',
]

KeyT = TypeVar('KeyT', bound=NamedTuple)
"""Type of a connector's keys (a `NamedTuple`)."""

ConnectorBytes = bytes | bytearray | memoryview
"""What a connector's `get` may return."""

BufferList = Sequence[Buffer]
"""Buffers that together form one object, written back to back."""


@runtime_checkable
class Connector(Protocol[KeyT]):
    """Connector protocol for interfacing with external object storage."""

    def close(self) -> None:
        """Close the connector and clean up."""
        ...

    def config(self) -> dict[str, Any]:
        """Get the configuration needed to rebuild this connector."""
        ...

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Create a new connector instance from a configuration.

        Args:
            config: Configuration returned by `config()`.
        """
        ...

    def evict(self, key: KeyT) -> None:
        """Evict the object associated with the key (no-op if missing)."""
        ...

    def exists(self, key: KeyT) -> bool:
        """Check if an object associated with the key exists."""
        ...

    def get(self, key: KeyT) -> ConnectorBytes | None:
        """Get the serialized object associated with the key.

        Returns:
            Serialized object or `None` if the object does not exist.
        """
        ...

    def get_batch(
        self,
        keys: Sequence[KeyT],
    ) -> Sequence[ConnectorBytes | None]:
        """Get a batch of serialized objects associated with the keys.

        Returns:
            List with the same order as `keys` with the serialized objects
            or `None` where the key has no associated object.
        """
        ...

    def put(self, obj: Buffer) -> KeyT:
        """Put a serialized object in the store and return its key."""
        ...

    def put_batch(self, objs: Sequence[Buffer]) -> list[KeyT]:
        """Put a batch of serialized objects; keys keep the order of `objs`."""
        ...


@runtime_checkable
class DeferrableConnector(Connector[KeyT], Protocol[KeyT]):
    """Extension of `Connector` with deferred `set` semantics.

    A key can be created first (`new_key`) and the object associated with it
    later (`set`). Connectors are write-once, read-many: call `set` once
    per key.
    """

    def new_key(self, obj: Buffer | None = None) -> KeyT:
        """Create a new key.

        Args:
            obj: Optional object the key will be associated with.
                Implementations may ignore it.
        """
        ...

    def set(self, key: KeyT, obj: Buffer) -> None:
        """Associate `obj` with `key` (write-once)."""
        ...


def accepts_buffer_lists(connector: object) -> bool:
    """Whether `connector.put`/`set` also take a `BufferList`.

    Such connectors write the parts of an object back to back without
    joining them first, which saves one copy of large payloads (see
    `proxystore.serialize.serialize_to_buffers`). A connector opts in with
    the class attribute `accepts_buffer_lists = True`.
    """
    return getattr(connector, 'accepts_buffer_lists', False) is True
