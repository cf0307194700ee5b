"""The clients registered with a relay server."""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from typing import TYPE_CHECKING
from typing import Any
from typing import Generic
from typing import TypeVar

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

UserT = TypeVar('UserT')


@dataclasses.dataclass
class ClientStats:
    """What the relay forwarded for one client (the sender).

    Attributes:
        messages_forwarded: Messages of every type forwarded to a peer.
        bytes_forwarded: Their encoded size in bytes.
        peer_data_messages: `peer_data` messages forwarded to a peer.
        peer_data_bytes: Their encoded size in bytes.
        errors_returned: Messages sent back to the client with an error.
    """

    messages_forwarded: int = 0
    bytes_forwarded: int = 0
    peer_data_messages: int = 0
    peer_data_bytes: int = 0
    errors_returned: int = 0

    def copy(self) -> ClientStats:
        """Return a snapshot of these counters."""
        return dataclasses.replace(self)


def _utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc)


@dataclasses.dataclass(frozen=True, eq=False)
class Client(Generic[UserT]):
    """A client registered with the relay.

    Two clients are equal if they have the same UUID and user; each is
    hashed by identity.

    Attributes:
        name: Name the client registered with.
        uuid: UUID the client registered with.
        user: User the authenticator returned for the client.
        websocket: The client's connection.
        created: When the client registered (UTC).
        stats: Counters of what the relay forwarded for the client.
    """

    name: str
    uuid: uuid.UUID
    user: UserT
    websocket: ServerConnection
    created: datetime.datetime = dataclasses.field(default_factory=_utc_now)
    stats: ClientStats = dataclasses.field(default_factory=ClientStats)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Client):
            return False
        return bool(self.uuid == other.uuid and self.user == other.user)

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        created = self.created.strftime('%Y-%m-%d %H:%M:%S %Z')
        address = getattr(self.websocket, 'remote_address', None)
        return (
            f'Client(name={self.name!r}, uuid={self.uuid}, '
            f'user={self.user!r}, address={address}, created={created})'
        )


class ClientManager(Generic[UserT]):
    """Registered clients by UUID and by connection."""

    def __init__(self) -> None:
        self._by_uuid: dict[uuid.UUID, Client[UserT]] = {}
        self._by_websocket: dict[Any, Client[UserT]] = {}

    def add_client(self, client: Client[UserT]) -> None:
        """Register `client`, replacing any client with the same UUID."""
        old = self._by_uuid.get(client.uuid)
        if old is not None:
            self.remove_client(old)
        self._by_uuid[client.uuid] = client
        self._by_websocket[client.websocket] = client

    def get_clients(self) -> list[Client[UserT]]:
        """Return every registered client."""
        return list(self._by_uuid.values())

    def get_client_by_uuid(self, uuid: uuid.UUID) -> Client[UserT] | None:
        """Return the client registered under `uuid`, if any."""
        return self._by_uuid.get(uuid)

    def get_client_by_websocket(
        self,
        websocket: ServerConnection,
    ) -> Client[UserT] | None:
        """Return the client registered on `websocket`, if any."""
        return self._by_websocket.get(websocket)

    def remove_client(self, client: Client[UserT]) -> None:
        """Forget `client` (no-op if it is not registered)."""
        if self._by_uuid.get(client.uuid) is client:
            del self._by_uuid[client.uuid]
        if self._by_websocket.get(client.websocket) is client:
            del self._by_websocket[client.websocket]
