"""The relay server: registers clients and forwards messages between them.

`RelayServer.handler` is a `websockets` connection handler:

```python
server = RelayServer(NullAuthenticator())
async with websockets.asyncio.server.serve(server.handler, 'localhost', 0):
    ...
```

A client's first frame must be a `RelayRegistrationRequest`. The relay
authenticates the handshake headers, registers the client and answers
`RelayResponse(success=True, message='features=peer_data')`. Then it
forwards `PeerConnectionRequest` and `PeerDataMessage` frames to the peer
they name, if the peer is registered under the same user; otherwise the
frame goes back to the sender with `error` set.

A live UUID is never taken over: another user is refused (4002); the same
user replaces the old connection (4004) only if it also presents the
UUID's pinned endpoint secret, if any (see `proxystore.p2p.relay.secret`);
and without authentication a live UUID registered without a secret cannot
be registered again while its connection answers pings.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys
import uuid
import weakref
from typing import TYPE_CHECKING
from typing import Generic
from typing import TypeVar

from proxystore.p2p.relay import warn_missing_dependency
from proxystore.p2p.relay.authenticate import Authenticator
from proxystore.p2p.relay.authenticate import NullAuthenticator
from proxystore.p2p.relay.config import RelayPeerDataConfig
from proxystore.p2p.relay.exceptions import BadRequestError
from proxystore.p2p.relay.exceptions import ForbiddenError
from proxystore.p2p.relay.exceptions import RelayServerError
from proxystore.p2p.relay.exceptions import UnauthorizedError
from proxystore.p2p.relay.limits import TokenBucket
from proxystore.p2p.relay.manager import Client
from proxystore.p2p.relay.manager import ClientManager
from proxystore.p2p.relay.manager import ClientStats
from proxystore.p2p.relay.messages import PEER_DATA_FEATURE
from proxystore.p2p.relay.messages import PeerConnectionRequest
from proxystore.p2p.relay.messages import PeerDataMessage
from proxystore.p2p.relay.messages import RelayMessage
from proxystore.p2p.relay.messages import RelayMessageDecodeError
from proxystore.p2p.relay.messages import RelayMessageEncodeError
from proxystore.p2p.relay.messages import RelayRegistrationRequest
from proxystore.p2p.relay.messages import RelayResponse
from proxystore.p2p.relay.messages import decode_relay_message
from proxystore.p2p.relay.messages import encode_relay_message
from proxystore.p2p.relay.messages import features_message
from proxystore.p2p.relay.pins import PinTable
from proxystore.p2p.relay.secret import proves_uuid
from proxystore.p2p.relay.secret import secret_digest

try:
    from websockets.exceptions import ConnectionClosed
except ImportError as e:  # pragma: no cover - depends on extras
    warn_missing_dependency(e)

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

logger = logging.getLogger(__name__)

UserT = TypeVar('UserT')

CLOSE_UNKNOWN_MESSAGE = 4000
"""Close code: undecodable frame or a binary frame."""
CLOSE_UNAUTHORIZED = 4001
"""Close code: `UnauthorizedError` during registration."""
CLOSE_FORBIDDEN = 4002
"""Close code: `ForbiddenError` (bad token, UUID owned by someone else)."""
CLOSE_TOO_LARGE = 4003
"""Close code: a frame longer than `max_message_bytes`."""
CLOSE_REPLACED = 4004
"""Close code sent to the old connection of a re-registered UUID."""
CLOSE_GOING_AWAY = 1001
"""Close code sent to a registered connection that stopped answering."""
CLOSE_REGISTRATION_TIMEOUT = 1008
"""Close code: no registration within `registration_timeout`."""
CLOSE_INTERNAL = 1011
"""Close code: the relay could not handle the frame."""

UNKNOWN_REASON = 'Unknown message type.'
"""Close reason sent with code 4000."""

REPLACED_REASON = (
    'Relay received a registration with the same ID. This might mean that '
    'the endpoint is running in multiple locations.'
)

Forwardable = PeerConnectionRequest | PeerDataMessage


MAX_CLOSE_REASON_BYTES = 123
"""Longest close reason a websocket close frame can carry."""


async def _close(websocket: ServerConnection, code: int, reason: str) -> None:
    # Close frames carry at most 123 bytes of reason.
    data = reason.encode()
    if len(data) > MAX_CLOSE_REASON_BYTES:
        data = data[: MAX_CLOSE_REASON_BYTES - 3]
        reason = data.decode(errors='ignore') + '...'
    await websocket.close(code, reason)


class RelayServer(Generic[UserT]):
    """Relay server: the handler of a `websockets` server.

    Args:
        authenticator: Decides who each client is.
        max_message_bytes: Close a client that sends a frame larger than
            this (`sys.getsizeof`) with code 4003; `None` for no limit
            beyond the websocket library's own.
        peer_data: Limits on relayed peer data (`peer_data` messages);
            `RelayPeerDataConfig()` by default.
        registration_timeout: Seconds a new connection has to register.
        liveness_timeout: Seconds a registered connection has to answer a
            ping before a conflicting registration treats it as gone.
        max_pins: Most endpoint secrets remembered for UUIDs that are not
            connected (the oldest are forgotten first).
    """

    def __init__(
        self,
        authenticator: Authenticator[UserT],
        max_message_bytes: int | None = None,
        *,
        peer_data: RelayPeerDataConfig | None = None,
        registration_timeout: float = 10,
        liveness_timeout: float = 2,
        max_pins: int = 100_000,
    ) -> None:
        self._authenticator = authenticator
        self._max_message_bytes = max_message_bytes
        self._peer_data = (
            RelayPeerDataConfig() if peer_data is None else peer_data
        )
        self._registration_timeout = registration_timeout
        self._liveness_timeout = liveness_timeout
        self._client_manager: ClientManager[UserT] = ClientManager()
        self._pins = PinTable(max_pins)
        self._buckets: dict[uuid.UUID, TokenBucket] = {}
        self._closing: set[asyncio.Task[None]] = set()
        self._locks: weakref.WeakValueDictionary[uuid.UUID, asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    @property
    def authenticator(self) -> Authenticator[UserT]:
        """The authenticator of this relay."""
        return self._authenticator

    @property
    def client_manager(self) -> ClientManager[UserT]:
        """The registered clients."""
        return self._client_manager

    @property
    def features(self) -> tuple[str, ...]:
        """Extensions this relay advertises at registration."""
        return (PEER_DATA_FEATURE,) if self._peer_data.enabled else ()

    def stats(self) -> dict[uuid.UUID, ClientStats]:
        """Return a snapshot of the forwarding counters of each client.

        Keys are the UUIDs of the registered clients.
        """
        return {
            client.uuid: client.stats.copy()
            for client in self._client_manager.get_clients()
        }

    async def send(self, client: Client[UserT], message: RelayMessage) -> int:
        """Send `message` to `client`; return the frame's length.

        Encoding errors and closed connections are logged, not raised
        (and give 0).
        """
        try:
            frame = encode_relay_message(message)
        except RelayMessageEncodeError as e:
            logger.error('Failed to encode message for %r: %s', client, e)
            return 0
        return await self._send_frame(client, frame)

    async def _send_frame(self, client: Client[UserT], frame: str) -> int:
        try:
            await client.websocket.send(frame)
        except ConnectionClosed:
            logger.warning(
                'Failed to send message to %r: connection closed',
                client,
            )
            return 0
        return len(frame)

    async def _authenticate(self, websocket: ServerConnection) -> UserT:
        headers = websocket.request.headers  # type: ignore[union-attr]
        try:
            if isinstance(self._authenticator, NullAuthenticator):
                return self._authenticator.authenticate_user(headers)
            # Authenticators may block on the network (token introspection).
            return await asyncio.to_thread(
                self._authenticator.authenticate_user,
                headers,
            )
        except RelayServerError as e:
            logger.warning(
                'Authentication failed for %s: %s: %s',
                websocket.remote_address,
                type(e).__name__,
                e,
            )
            raise

    async def _is_alive(self, client: Client[UserT]) -> bool:
        try:
            pong = await client.websocket.ping()
            await asyncio.wait_for(pong, self._liveness_timeout)
        except (ConnectionClosed, asyncio.TimeoutError):
            return False
        return True

    async def register(
        self,
        websocket: ServerConnection,
        request: RelayRegistrationRequest,
    ) -> None:
        """Register the client on `websocket` under `request.uuid`.

        Raises:
            UnauthorizedError: If the handshake carries no credentials.
            ForbiddenError: If the credentials are refused or the UUID is
                held by another user or endpoint.
            BadRequestError: If the endpoint secret header is malformed.
        """
        user = await self._authenticate(websocket)
        try:
            headers = websocket.request.headers  # type: ignore[union-attr]
            digest = secret_digest(headers)
            proven = proves_uuid(headers, request.uuid)
        except ValueError as e:
            raise BadRequestError(str(e)) from e
        lock = self._locks.get(request.uuid)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[request.uuid] = lock
        async with lock:
            client = await self._register_locked(
                websocket,
                request,
                user,
                digest,
                proven,
            )
        logger.info('Registered %r', client)
        await self.send(
            client,
            RelayResponse(success=True, message=self._features_message()),
        )

    def _close_later(
        self,
        client: Client[UserT],
        code: int,
        reason: str,
    ) -> None:
        # Closing waits for the peer's close frame (or a timeout if it is
        # dead): do not hold up the caller for it.
        logger.info('Unregistered %r (code %d)', client, code)
        task = asyncio.create_task(_close(client.websocket, code, reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _register_locked(
        self,
        websocket: ServerConnection,
        request: RelayRegistrationRequest,
        user: UserT,
        digest: bytes | None,
        proven: bool,
    ) -> Client[UserT]:
        current = self._client_manager.get_client_by_websocket(websocket)
        if current is not None and current.uuid != request.uuid:
            raise BadRequestError(
                f'This connection is already registered as {current.uuid}.',
            )
        old = self._client_manager.get_client_by_uuid(request.uuid)
        if old is not None and old.websocket is not websocket:
            try:
                self._pins.check(request.uuid, user, digest, proven)
            except ForbiddenError:
                if await self._is_alive(old):
                    raise
                logger.info('Dropping unresponsive %r', old)
                self._forget(old)
                self._close_later(old, CLOSE_GOING_AWAY, 'No answer to ping.')
                # Only the live-registration pin went with it: a secret
                # pin still binds the UUID.
                self._pins.check(request.uuid, user, digest, proven)
            else:
                logger.warning(
                    'Replacing %r: registered again by the same user',
                    old,
                )
                self._forget(old)
                self._close_later(old, CLOSE_REPLACED, REPLACED_REASON)
        elif old is None:
            self._pins.check(request.uuid, user, digest, proven)
        client: Client[UserT] = Client(
            name=request.name,
            uuid=request.uuid,
            user=user,
            websocket=websocket,
        )
        if old is not None:
            client = dataclasses.replace(client, stats=old.stats)
        self._client_manager.add_client(client)
        live = {c.uuid for c in self._client_manager.get_clients()}
        self._pins.pin(request.uuid, user, digest, live)
        return client

    def _features_message(self) -> str | None:
        return features_message(self.features) if self.features else None

    def _forget(self, client: Client[UserT]) -> None:
        if self._client_manager.get_client_by_uuid(client.uuid) is client:
            self._buckets.pop(client.uuid, None)
            self._pins.release(client.uuid)
        self._client_manager.remove_client(client)

    async def unregister(
        self,
        client: Client[UserT],
        code: int = 1000,
        reason: str = '',
    ) -> None:
        """Forget `client` and close its connection with `code`."""
        self._forget(client)
        logger.info('Unregistered %r (code %d)', client, code)
        await _close(client.websocket, code, reason)

    async def _return_error(
        self,
        source: Client[UserT],
        request: Forwardable,
        error: str,
    ) -> None:
        request.error = error
        source.stats.errors_returned += 1
        await self.send(source, request)

    def _forward_error(
        self,
        source: Client[UserT],
        request: Forwardable,
        frame_length: int,
    ) -> tuple[str | None, Client[UserT] | None]:
        kind = type(request).__name__
        if request.source_uuid != source.uuid:
            return (
                f'Cannot forward {kind} with source_uuid '
                f'{request.source_uuid}: this connection is registered as '
                f'{source.uuid}.',
                None,
            )
        if isinstance(request, PeerDataMessage):
            if not self._peer_data.enabled:
                return 'This relay does not forward peer data.', None
            if frame_length > self._peer_data.max_frame_bytes:
                return (
                    f'Cannot forward {kind}: {frame_length} bytes exceeds '
                    f'the relay limit of {self._peer_data.max_frame_bytes}.',
                    None,
                )
        target = self._client_manager.get_client_by_uuid(request.peer_uuid)
        if target is None:
            return (
                f'Cannot forward {kind} to peer {request.peer_uuid} because '
                'this peer is not registered this relay server.',
                None,
            )
        if target.user != source.user:
            return (
                f'Cannot forward {kind} to peer {request.peer_uuid} because '
                'the peer is owned by a different user.',
                None,
            )
        return None, target

    async def _throttle(self, source: Client[UserT], nbytes: int) -> None:
        rate = self._peer_data.bytes_per_second
        if rate is None:
            return
        bucket = self._buckets.get(source.uuid)
        if bucket is None:
            bucket = TokenBucket(rate, self._peer_data.burst_bytes)
            self._buckets[source.uuid] = bucket
        await bucket.acquire(nbytes)

    async def forward(
        self,
        source_client: Client[UserT],
        request: Forwardable,
        frame: str | None = None,
    ) -> None:
        """Forward `request` to its peer, or send it back with an error.

        Peer data is rate-limited per sender (the sender's frames are read
        no faster than the limit allows) and counted in `stats()`.

        Args:
            source_client: The sender.
            request: The decoded message.
            frame: The frame `request` was decoded from. `peer_data`
                frames are forwarded as is (`decode_relay_message` has
                checked every field and refused duplicate keys, so the
                frame means exactly `request`); other messages are sent
                with `send` as upstream does.
        """
        if frame is None:
            frame = encode_relay_message(request)
        error, target = self._forward_error(
            source_client,
            request,
            len(frame),
        )
        if error is not None or target is None:
            logger.info('Not forwarding from %r: %s', source_client, error)
            await self._return_error(source_client, request, str(error))
            return
        peer_data = isinstance(request, PeerDataMessage)
        if peer_data:
            await self._throttle(source_client, len(frame))
            # Relayed data: skip re-encoding the (large) frame.
            sent = await self._send_frame(target, frame)
        else:
            sent = await self.send(target, request)
        if sent == 0:
            return
        stats = source_client.stats
        stats.messages_forwarded += 1
        stats.bytes_forwarded += sent
        if peer_data:
            stats.peer_data_messages += 1
            stats.peer_data_bytes += sent

    async def _process_message(
        self,
        websocket: ServerConnection,
        message: str | bytes,
    ) -> None:
        if (
            self._max_message_bytes is not None
            and sys.getsizeof(message) > self._max_message_bytes
        ):
            await _close(
                websocket,
                CLOSE_TOO_LARGE,
                'Message length exceeds limit.',
            )
            return
        if not isinstance(message, str):
            await _close(websocket, CLOSE_UNKNOWN_MESSAGE, UNKNOWN_REASON)
            return
        try:
            request = decode_relay_message(message)
        except RelayMessageDecodeError as e:
            logger.warning(
                'Undecodable message from %s: %s',
                websocket.remote_address,
                e,
            )
            await _close(websocket, CLOSE_UNKNOWN_MESSAGE, UNKNOWN_REASON)
            return

        client = self._client_manager.get_client_by_websocket(websocket)
        try:
            if isinstance(request, RelayRegistrationRequest):
                await self.register(websocket, request)
            elif client is None:
                raise ForbiddenError(
                    'The client has not registered with the relay yet.',
                )
            elif isinstance(request, (PeerConnectionRequest, PeerDataMessage)):
                await self.forward(client, request, message)
            else:
                await _close(
                    websocket,
                    CLOSE_INTERNAL,
                    f'Unexpected {type(request).__name__} from a client.',
                )
        except UnauthorizedError as e:
            await _close(
                websocket,
                CLOSE_UNAUTHORIZED,
                f'{type(e).__name__}: {e}',
            )
        except ForbiddenError as e:
            logger.warning(
                'Refused %s: ForbiddenError: %s',
                websocket.remote_address,
                e,
            )
            await _close(
                websocket, CLOSE_FORBIDDEN, f'{type(e).__name__}: {e}'
            )
        except RelayServerError as e:
            response = RelayResponse(
                success=False,
                message=f'{type(e).__name__}: {e}',
                error=True,
            )
            await websocket.send(encode_relay_message(response))

    async def handler(self, websocket: ServerConnection) -> None:
        """Serve one client connection until it closes."""
        try:
            try:
                first = await asyncio.wait_for(
                    websocket.recv(),
                    self._registration_timeout,
                )
            except asyncio.TimeoutError:
                await _close(
                    websocket,
                    CLOSE_REGISTRATION_TIMEOUT,
                    'No registration received.',
                )
                return
            await self._process_message(websocket, first)
            async for message in websocket:
                await self._process_message(websocket, message)
        except ConnectionClosed:
            pass
        finally:
            client = self._client_manager.get_client_by_websocket(websocket)
            if client is not None:
                await self.unregister(client, 1000)
