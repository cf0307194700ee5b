"""In-process local storage connector."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from typing import Any
from typing import ClassVar
from typing import NamedTuple
from typing import cast

from typing_extensions import Buffer

from proxystore.utils.buffers import BytesLike
from proxystore.utils.buffers import byte_view
from proxystore.utils.closing import CloseOnExit

logger = logging.getLogger(__name__)


class LocalKey(NamedTuple):
    """Key to objects stored in a `LocalConnector`.

    Attributes:
        id: Unique object ID.
    """

    id: str


def _immutable(obj: Buffer, *, picklable: bool) -> bytes | memoryview:
    """Return `obj` if it is immutable bytes-like, else an immutable copy.

    `bytes` and read-only memoryviews (what `serialize` returns for large
    payloads) are kept without copying, unless `picklable` (memoryviews
    cannot be pickled); writable buffers are copied so the caller's later
    writes cannot alter the stored object and `get` never hands out a
    buffer that aliases the store.

    Raises:
        TypeError: If `obj` is not bytes-like.
    """
    if type(obj) is bytes:
        return obj
    view = byte_view(obj)
    if not picklable and isinstance(obj, memoryview) and view.readonly:
        return view
    return view.tobytes()


class LocalConnector(CloseOnExit):
    """Connector that stores objects in the local process's memory.

    Warning:
        This connector exists primarily for testing purposes: other
        processes cannot reach its data unless `include_data_in_config` is
        set, in which case the data travels inside the configuration.

    Args:
        store_dict: Dictionary to store data in. If not specified, a new
            empty dict is used. Connectors built on the same dict share
            their objects.
        include_data_in_config: Include the dictionary itself in
            `config()`: a connector rebuilt from the configuration in this
            process shares the data with this one, and one rebuilt in
            another process (after pickling) gets a copy of the objects
            stored so far. Very inefficient; only for testing.
    """

    config_reaches_data: ClassVar[bool] = False
    """Capability flag (see `proxystore.testing.connectors`): a connector
    rebuilt from `config()` in another process does not share the data."""
    process_local: ClassVar[bool] = True
    """The objects live in this process only (the Store's missing-object
    errors say so when a proxy is resolved in another process)."""

    def __init__(
        self,
        store_dict: dict[LocalKey, BytesLike] | None = None,
        *,
        include_data_in_config: bool = False,
    ) -> None:
        self._store: dict[LocalKey, bytes | memoryview] = cast(
            'dict[LocalKey, bytes | memoryview]',
            {} if store_dict is None else store_dict,
        )
        self._include_data_in_config = include_data_in_config
        logger.info('Initialized %r', self)

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'

    def close(self) -> None:
        """Close the connector (nothing to clean up)."""
        logger.info('Closed %r', self)

    def config(self) -> dict[str, Any]:
        """Get the configuration needed to rebuild this connector.

        With `include_data_in_config`, `config()['store_dict']` is this
        connector's dictionary itself (not a copy).
        """
        config: dict[str, Any] = {
            'include_data_in_config': self._include_data_in_config,
        }
        if self._include_data_in_config:
            config['store_dict'] = self._store
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
        logger.debug('EVICT %s', key)

    def exists(self, key: LocalKey) -> bool:
        """Check if an object associated with the key exists."""
        found = key in self._store
        logger.debug('EXISTS %s: %s', key, found)
        return found

    def get(self, key: LocalKey) -> bytes | memoryview | None:
        """Get the serialized object associated with the key, or `None`."""
        data = self._store.get(key)
        logger.debug('GET %s (found=%s)', key, data is not None)
        return data

    def get_batch(
        self,
        keys: Sequence[LocalKey],
    ) -> list[bytes | memoryview | None]:
        """Get serialized objects in the order of `keys` (`None` if absent)."""
        logger.debug('GET_BATCH %d keys', len(keys))
        return [self._store.get(key) for key in keys]

    def new_key(self, obj: Buffer | None = None) -> LocalKey:
        """Create a new key; `obj` is ignored by this implementation."""
        return LocalKey(str(uuid.uuid4()))

    def put(self, obj: Buffer) -> LocalKey:
        """Put a serialized object in the store and return its key.

        Immutable input (`bytes`, read-only `memoryview`) is stored as
        is; writable buffers are copied first.
        """
        data = self._copy(obj)
        key = self.new_key()
        self._store[key] = data
        logger.debug('PUT %s', key)
        return key

    def put_batch(self, objs: Sequence[Buffer]) -> list[LocalKey]:
        """Put serialized objects; keys keep the order of `objs`.

        Nothing is stored if one of the objects is not bytes-like.
        """
        datas = [self._copy(obj) for obj in objs]
        keys = [self.new_key() for _ in datas]
        self._store.update(zip(keys, datas, strict=True))
        logger.debug('PUT_BATCH %d keys', len(keys))
        return keys

    def set(self, key: LocalKey, obj: Buffer) -> None:
        """Associate `obj` with `key`."""
        self._store[key] = self._copy(obj)
        logger.debug('SET %s', key)

    def _copy(self, obj: Buffer) -> bytes | memoryview:
        return _immutable(obj, picklable=self._include_data_in_config)
