"""In-process local storage connector."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple
from typing import cast

from typing_extensions import Buffer

from proxystore.utils.buffers import byte_view
from proxystore.utils.closing import CloseOnExit


class LocalKey(NamedTuple):
    """Key to objects stored in a `LocalConnector`.

    Attributes:
        id: Unique object ID.
    """

    id: str


def _immutable(obj: Buffer) -> bytes | memoryview:
    """Return `obj` if it is immutable bytes-like, else an immutable copy.

    `bytes` and read-only memoryviews (what `serialize` returns for large
    payloads) are kept without copying; writable buffers are copied so the
    caller's later writes cannot alter the stored object and `get` never
    hands out a buffer that aliases the store.

    Raises:
        TypeError: If `obj` is not bytes-like.
    """
    if type(obj) is bytes:
        return obj
    view = byte_view(obj)
    if isinstance(obj, memoryview) and view.readonly:
        return view
    return view.tobytes()


class LocalConnector(CloseOnExit):
    """Connector that stores objects in the local process's memory.

    Warning:
        This connector exists primarily for testing purposes: other
        processes cannot reach its data unless `include_data_in_config` is
        set, in which case the data is copied into the configuration.

    Args:
        store_dict: Dictionary to store data in. If not specified, a new
            empty dict is used.
        include_data_in_config: Include (a copy of) the stored data in
            `config()` so `from_config()` in another process sees the
            objects stored so far. Very inefficient; only for testing.
    """

    def __init__(
        self,
        store_dict: dict[LocalKey, bytes] | None = None,
        *,
        include_data_in_config: bool = False,
    ) -> None:
        self._store: dict[LocalKey, bytes | memoryview] = cast(
            'dict[LocalKey, bytes | memoryview]',
            {} if store_dict is None else store_dict,
        )
        self._include_data_in_config = include_data_in_config

    def __repr__(self) -> str:
        return f'{type(self).__name__}(objects={len(self._store)})'

    def close(self) -> None:
        """Close the connector (nothing to clean up)."""

    def config(self) -> dict[str, Any]:
        """Get the configuration needed to rebuild this connector."""
        config: dict[str, Any] = {
            'include_data_in_config': self._include_data_in_config,
        }
        if self._include_data_in_config:
            config['store_dict'] = {
                key: bytes(value) for key, value in self._store.items()
            }
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LocalConnector:
        """Create a new connector instance from a configuration.

        Args:
            config: Configuration returned by `config()`.
        """
        return cls(**config)

    def evict(self, key: LocalKey) -> None:
        """Evict the object associated with the key (no-op if missing)."""
        self._store.pop(key, None)

    def exists(self, key: LocalKey) -> bool:
        """Check if an object associated with the key exists."""
        return key in self._store

    def get(self, key: LocalKey) -> bytes | memoryview | None:
        """Get the serialized object associated with the key, or `None`."""
        return self._store.get(key)

    def get_batch(
        self,
        keys: Sequence[LocalKey],
    ) -> list[bytes | memoryview | None]:
        """Get serialized objects in the order of `keys` (`None` if absent)."""
        return [self._store.get(key) for key in keys]

    def new_key(self, obj: Buffer | None = None) -> LocalKey:
        """Create a new key; `obj` is ignored by this implementation."""
        return LocalKey(str(uuid.uuid4()))

    def put(self, obj: Buffer) -> LocalKey:
        """Put a serialized object in the store and return its key.

        Immutable input (`bytes`, read-only `memoryview`) is stored as
        is; writable buffers are copied first.
        """
        key = self.new_key()
        self._store[key] = _immutable(obj)
        return key

    def put_batch(self, objs: Sequence[Buffer]) -> list[LocalKey]:
        """Put serialized objects; keys keep the order of `objs`."""
        return [self.put(obj) for obj in objs]

    def set(self, key: LocalKey, obj: Buffer) -> None:
        """Associate `obj` with `key`."""
        self._store[key] = _immutable(obj)
