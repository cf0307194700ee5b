"""The endpoint: a named blob store that forwards requests to its peers."""

from __future__ import annotations

import uuid as uuid_module
from types import TracebackType
from typing import TYPE_CHECKING

from proxystore.endpoint.exceptions import PeerUnavailableError
from proxystore.endpoint.keys import validate_key
from proxystore.endpoint.keys import validate_uuid
from proxystore.endpoint.storage import Blob
from proxystore.endpoint.storage import DictStorage
from proxystore.endpoint.storage import Storage

if TYPE_CHECKING:
    from proxystore.endpoint.peers import PeerManager


class Endpoint:
    """A blob store identified by a UUID that can forward to peers.

    Every operation takes an optional `endpoint` UUID naming the endpoint
    that owns the blob. Requests for this endpoint (or with no UUID) are
    served from `storage`; requests naming another endpoint are forwarded
    to that peer through the `peer_manager`.

    Args:
        name: Human-readable name (defaults to the UUID's first group).
        uuid: UUID of this endpoint (a new one is generated if `None`).
        peer_manager: Forwards requests for other endpoints. Without one,
            such requests raise `PeerUnavailableError`.
        storage: Where blobs live (defaults to `DictStorage()`).
    """

    def __init__(
        self,
        name: str | None = None,
        uuid: str | uuid_module.UUID | None = None,
        *,
        peer_manager: PeerManager | None = None,
        storage: Storage | None = None,
    ) -> None:
        self.uuid = validate_uuid(uuid or uuid_module.uuid4())
        self.name = name or self.uuid.split('-')[0]
        self.peer_manager = peer_manager
        self.storage: Storage = storage or DictStorage()

    def __repr__(self) -> str:
        return f'{type(self).__name__}(name={self.name!r}, uuid={self.uuid!r})'

    async def __aenter__(self) -> Endpoint:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        exc_traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def _owner(self, key: str, endpoint: str | None) -> Storage | _Peer:
        """Return where the blob for `key` lives: storage or a peer.

        Raises:
            InvalidKeyError: If `key` or `endpoint` is malformed.
            PeerUnavailableError: If `endpoint` names another endpoint and
                this one has no peer manager.
        """
        validate_key(key)
        if endpoint is None or endpoint == self.uuid:
            return self.storage
        peer = validate_uuid(endpoint)
        if peer == self.uuid:
            return self.storage
        if self.peer_manager is None:
            raise PeerUnavailableError(
                f'Endpoint {self.uuid} cannot reach peer {peer}: '
                'no relay server is configured for peering.',
            )
        return _Peer(self.peer_manager, peer)

    async def evict(self, key: str, endpoint: str | None = None) -> None:
        """Evict the blob for `key` (no-op if missing).

        Args:
            key: Key of the blob.
            endpoint: UUID of the endpoint owning the blob (`None` = this).
        """
        await self._owner(key, endpoint).evict(key)

    async def exists(self, key: str, endpoint: str | None = None) -> bool:
        """Check if a blob exists for `key`.

        Args:
            key: Key of the blob.
            endpoint: UUID of the endpoint owning the blob (`None` = this).
        """
        return await self._owner(key, endpoint).exists(key)

    async def get(
        self,
        key: str,
        endpoint: str | None = None,
    ) -> Blob | None:
        """Get the blob for `key`, or `None` if it does not exist.

        Args:
            key: Key of the blob.
            endpoint: UUID of the endpoint owning the blob (`None` = this).
        """
        return await self._owner(key, endpoint).get(key)

    async def set(
        self,
        key: str,
        blob: Blob,
        endpoint: str | None = None,
    ) -> None:
        """Store `blob` under `key`.

        Args:
            key: Key of the blob.
            blob: Bytes-like blob to store.
            endpoint: UUID of the endpoint owning the blob (`None` = this).

        Raises:
            ObjectSizeExceededError: If the blob is over the storage limit.
        """
        await self._owner(key, endpoint).set(key, blob)

    async def close(self) -> None:
        """Close the peer manager and the storage."""
        if self.peer_manager is not None:
            await self.peer_manager.close()
        await self.storage.close()


class _Peer:
    """The blobs of one peer endpoint, with the `Storage` operations."""

    __slots__ = ('manager', 'peer')

    def __init__(self, manager: PeerManager, peer: str) -> None:
        self.manager = manager
        self.peer = peer

    async def evict(self, key: str) -> None:
        await self.manager.evict(self.peer, key)

    async def exists(self, key: str) -> bool:
        return await self.manager.exists(self.peer, key)

    async def get(self, key: str) -> Blob | None:
        return await self.manager.get(self.peer, key)

    async def set(self, key: str, blob: Blob) -> None:
        await self.manager.set(self.peer, key, blob)
