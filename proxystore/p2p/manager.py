"""Manage the peer connections of one relay client.

A `PeerManager` listens to the relay for offers, answers and relayed
data, makes a connection to a peer the first time something is sent to
it, and hands every message received from any peer to `recv()`.

How a connection is made:

1. The sender offers a WebRTC connection (`PeerConnection`) through the
   relay. If both peers offer at once (glare), the offer of the peer with
   the lower UUID wins and the other side answers it.
2. ICE picks the best working route: host addresses
   (`path='webrtc-direct'`) or NAT mappings found by STUN
   (`'webrtc-hole-punched'`).
3. If ICE fails or is not done within `ice_timeout` (symmetric NATs, no
   route), and the relay advertised the `peer_data` feature, the
   connection becomes a `RelayedConnection` (`'relayed'`): data goes
   through the relay's authenticated websocket, encrypted end to end with
   a key derived from the X25519 keys both peers put in their offer and
   answer (`RELAY_KEY_ATTRIBUTE`). A peer switches to the
   relayed connection when relayed data first arrives from the other.

`peers()` lists every connection with its path, state and byte counts,
and each established connection is logged at INFO with its path.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid as uuid_module
from collections.abc import Iterable
from typing import Any
from typing import Literal
from typing import NamedTuple

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey

from proxystore.p2p.connection import FrameCipher
from proxystore.p2p.connection import PeerConnection
from proxystore.p2p.connection import RelayedConnection
from proxystore.p2p.connection import endpoint_address
from proxystore.p2p.connection import log_name
from proxystore.p2p.connection import relay_key
from proxystore.p2p.exceptions import PeerConnectionError
from proxystore.p2p.exceptions import PeerConnectionTimeoutError
from proxystore.p2p.relay.exceptions import RelayRegistrationError
from proxystore.p2p.relay.messages import FEATURES_PREFIX
from proxystore.p2p.relay.messages import PEER_DATA_FEATURE
from proxystore.p2p.relay.messages import PeerConnectionRequest
from proxystore.p2p.relay.messages import PeerDataMessage
from proxystore.p2p.relay.messages import RelayMessageDecodeError
from proxystore.p2p.relay.messages import RelayResponse
from proxystore.utils.closing import AsyncCloseOnExit
from proxystore.utils.tasks import cancel_and_wait

try:
    from websockets.exceptions import ConnectionClosed
except ImportError:  # pragma: no cover
    ConnectionClosed = OSError  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)

Connection = PeerConnection | RelayedConnection
"""Either kind of peer connection."""

_RELAY_RETRY_SECONDS = 1.0

DEFAULT_ICE_TIMEOUT = 10.0
"""Seconds ICE may take before the relayed path is used instead.

ICE between host candidates takes milliseconds and hole punching a few
round trips; aioice itself gives up on a pair only after about 30 s.
"""

ICE_TIMEOUT_ENV = 'PROXYSTORE_ICE_TIMEOUT'
"""Environment variable overriding `DEFAULT_ICE_TIMEOUT` (seconds)."""

DIRECT_HTTP_ENV = 'PROXYSTORE_PEER_DIRECT_HTTP'
"""Environment variable: `0` stops using peers' announced HTTP addresses."""

ICE_TRANSPORT_POLICY_ENV = 'PROXYSTORE_ICE_TRANSPORT_POLICY'
"""Environment variable with the default ICE transport policy.

`relay` forces the relayed path when no TURN server is configured: useful
to test it, or where UDP is known to be blocked.
"""


class PeerInfo(NamedTuple):
    """One peer connection, as listed by `PeerManager.peers()`.

    Attributes:
        uuid: UUID of the peer.
        name: Name of the peer (`None` if not known yet).
        path: How data travels (`'http'`, `'webrtc-direct'`,
            `'webrtc-hole-punched'`, `'webrtc-turn'`, `'relayed'`; `None`
            while connecting).
        state: State of the connection.
        bytes_sent: Bytes of messages sent to the peer.
        bytes_received: Bytes of messages received from the peer.
    """

    uuid: uuid_module.UUID
    name: str | None
    path: str | None
    state: str
    bytes_sent: int
    bytes_received: int

    def as_json(self) -> dict[str, Any]:
        """Return the fields as JSON-ready values (the UUID as str)."""
        fields = self._asdict()
        fields['uuid'] = str(self.uuid)
        return fields


class PeerManager(AsyncCloseOnExit):
    """Connections to peers through one relay client.

    Call `await manager.async_init()` (or `await PeerManager(...)`, or use
    `async with`) before anything else.

    Args:
        relay_client: Client of the relay server; `async_init()` connects
            it.
        timeout: Seconds to wait for a new connection to be ready.
        peer_channels: Data channels per WebRTC connection.
        ice_servers: STUN/TURN servers for WebRTC (`None`: aiortc's
            default; `[]`: none, host candidates only).
        ice_transport_policy: `'relay'` permits only TURN candidates; with
            no TURN server this makes ICE fail so data is relayed. `None`
            reads `PROXYSTORE_ICE_TRANSPORT_POLICY` (default `'all'`).
        ice_timeout: Seconds to wait for ICE before falling back to the
            relayed path. `None` reads `PROXYSTORE_ICE_TIMEOUT`, else
            `DEFAULT_ICE_TIMEOUT` (at most `timeout`).
        relay_fallback: Fall back to relaying data through the relay when
            ICE fails (only if the relay supports it).
        http_address: HTTP address of this side's endpoint, announced to
            peers so they may forward requests to it directly.
        http_token: Bearer token this side's endpoint offers to peers'
            HTTP servers on the direct path (only over loopback or HTTPS).
        direct_http: Use the HTTP addresses peers announce. `None` reads
            `PROXYSTORE_PEER_DIRECT_HTTP` (`0` disables; default on, but
            off with the `'relay'` transport policy).
    """

    def __init__(
        self,
        relay_client: Any,
        *,
        timeout: int = 30,
        peer_channels: int = 1,
        ice_servers: list[Any] | None = None,
        ice_transport_policy: Literal['all', 'relay'] | None = None,
        ice_timeout: float | None = None,
        relay_fallback: bool = True,
        http_address: str | None = None,
        http_token: str | None = None,
        direct_http: bool | None = None,
    ) -> None:
        self._relay_client = relay_client
        self.http_address = http_address
        """HTTP address announced to peers (set it before connecting)."""
        self.http_token = http_token
        """Bearer token offered to peers on the direct HTTP path."""
        self._timeout = timeout
        self._peer_channels = peer_channels
        self._ice_servers = ice_servers
        self._ice_transport_policy = _transport_policy(ice_transport_policy)
        self._ice_timeout = _ice_timeout(ice_timeout, timeout)
        self._relay_fallback = relay_fallback
        if direct_http is None:
            direct_http = (
                os.environ.get(DIRECT_HTTP_ENV, '1') != '0'
                and self._ice_transport_policy != 'relay'
            )
        self.direct_http = direct_http
        """Whether peers' announced HTTP addresses are used."""
        self._http_addresses: dict[uuid_module.UUID, str] = {}
        # End-to-end key of the relayed path: ours (one per manager) and
        # the peers' public keys from their offers and answers.
        self._relay_private_key = X25519PrivateKey.generate()
        self._relay_public_key = (
            self._relay_private_key.public_key().public_bytes_raw()
        )
        self._peer_keys: dict[uuid_module.UUID, bytes] = {}
        self._peer_key_events: dict[uuid_module.UUID, asyncio.Event] = {}
        self._direct: dict[uuid_module.UUID, list[int]] = {}
        self._initialized = False
        self._closed = False
        self._connections: dict[frozenset[uuid_module.UUID], Connection] = {}
        self._names: dict[uuid_module.UUID, str] = {}
        self._messages: asyncio.Queue[tuple[uuid_module.UUID, bytes | str]] = (
            asyncio.Queue()
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self._establishing: dict[
            frozenset[uuid_module.UUID],
            asyncio.Task[None],
        ] = {}
        self._errors: dict[frozenset[uuid_module.UUID], Exception] = {}
        self._listener: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(uuid={self._relay_client.uuid}, '
            f'connections={len(self._connections)})'
        )

    @property
    def name(self) -> str:
        """Name of this side (the relay client's)."""
        name: str = self.relay_client.name
        return name

    @property
    def uuid(self) -> uuid_module.UUID:
        """UUID of this side (the relay client's)."""
        uuid: uuid_module.UUID = self.relay_client.uuid
        return uuid

    @property
    def relay_client(self) -> Any:
        """The relay client.

        Raises:
            RuntimeError: If `async_init()` has not been called.
        """
        if not self._initialized:
            raise RuntimeError(
                'PeerManager.async_init() has not been called. Create the '
                'manager with await PeerManager(...) or call async_init().',
            )
        return self._relay_client

    @property
    def relay_supports_peer_data(self) -> bool:
        """Whether the relay advertised the relayed-data feature."""
        return PEER_DATA_FEATURE in _relay_features(self._relay_client)

    async def async_init(self) -> None:
        """Connect the relay client and start listening to it."""
        if self._initialized:
            return
        await self._relay_client.connect()
        self._initialized = True
        self._listener = asyncio.create_task(
            self._handle_server_messages(),
            name=f'peer-manager-listener-{self._relay_client.uuid}',
        )
        logger.info(
            'Peer manager %s connected to the relay (relayed fallback %s)',
            log_name(self.uuid, self.name),
            'available'
            if self.relay_supports_peer_data
            else 'not offered by the relay',
        )

    async def close(self) -> None:
        """Close every connection and the relay client (idempotent)."""
        if self._closed:
            return
        self._closed = True
        tasks = list(self._tasks)
        if self._listener is not None:
            tasks.append(self._listener)
        await cancel_and_wait(tasks)
        connections = list(self._connections.values())
        self._connections.clear()
        for connection in connections:
            await connection.close()
        await self._relay_client.close()

    def _key(self, peer_uuid: uuid_module.UUID) -> frozenset[uuid_module.UUID]:
        return frozenset({self._relay_client.uuid, peer_uuid})

    def peers(self) -> list[PeerInfo]:
        """Describe every current peer connection."""
        infos = []
        for connection in self._connections.values():
            peer = connection.peer_uuid
            if peer is None:  # pragma: no cover
                continue
            path: str | None = connection.path
            sent, received = connection.bytes_sent, connection.bytes_received
            direct = self._direct.get(peer)
            if direct is not None:
                path = 'http'
                sent, received = sent + direct[0], received + direct[1]
            infos.append(
                PeerInfo(
                    uuid=peer,
                    name=connection.peer_name or self._names.get(peer),
                    path=path,
                    state=connection.state,
                    bytes_sent=sent,
                    bytes_received=received,
                ),
            )
        return infos

    def has_connection(self, peer_uuid: uuid_module.UUID) -> bool:
        """Whether a connection to the peer exists or is being made."""
        key = self._key(peer_uuid)
        return key in self._connections or key in self._establishing

    async def close_connection(
        self,
        peers: Iterable[uuid_module.UUID],
    ) -> None:
        """Close the connection between the peers in `peers`."""
        key = frozenset(peers)
        connection = self._connections.pop(key, None)
        if connection is not None:
            await connection.close()

    def _forget(
        self,
        key: frozenset[uuid_module.UUID],
        connection: Connection,
    ) -> None:
        # A close callback: drop the connection unless it was replaced.
        if self._connections.get(key) is connection:
            del self._connections[key]

    def _track(
        self,
        key: frozenset[uuid_module.UUID],
        connection: Connection,
    ) -> None:
        self._connections[key] = connection
        pump = asyncio.ensure_future(self._pump(connection))
        connection.on_close_callback(pump.cancel)
        connection.on_close_callback(self._forget, key, connection)

    async def _pump(self, connection: Connection) -> None:
        # Moves the messages of one connection to the manager's queue.
        while True:
            message = await connection.recv()
            assert connection.peer_uuid is not None
            self._messages.put_nowait((connection.peer_uuid, message))

    def _new_peer_connection(self) -> PeerConnection:
        return PeerConnection(
            self._relay_client,
            channels=self._peer_channels,
            ice_servers=self._ice_servers,
            ice_transport_policy=self._ice_transport_policy,
            http_address=self.http_address,
            relay_public_key=self._relay_public_key,
        )

    async def peer_http_address(
        self,
        peer_uuid: uuid_module.UUID,
        timeout: float = 30,
    ) -> str | None:
        """Return the HTTP address the peer announced, if usable.

        Connects to the peer first if needed (the address comes with the
        peer's offer or answer). `None` if direct HTTP is disabled, the
        peer announced nothing (e.g. an upstream endpoint), or the
        connection failed.
        """
        if not self.direct_http:
            return None
        if peer_uuid not in self._http_addresses:
            loop = asyncio.get_running_loop()
            try:
                await self._ready_connection(peer_uuid, loop.time() + timeout)
            except PeerConnectionError:
                return None
        return self._http_addresses.get(peer_uuid)

    def direct_path_used(
        self,
        peer_uuid: uuid_module.UUID,
        sent: int,
        received: int,
    ) -> None:
        """Count a request a caller forwarded over direct HTTP."""
        counters = self._direct.get(peer_uuid)
        if counters is None:
            counters = self._direct[peer_uuid] = [0, 0]
            logger.info(
                'Established peer connection with %s (path: http, %s)',
                log_name(peer_uuid, self._names.get(peer_uuid, 'unknown')),
                self._http_addresses.get(peer_uuid),
            )
        counters[0] += sent
        counters[1] += received

    def direct_path_failed(
        self,
        peer_uuid: uuid_module.UUID,
        reason: object,
    ) -> None:
        """Stop using the peer's HTTP address (it did not work)."""
        address = self._http_addresses.pop(peer_uuid, None)
        self._direct.pop(peer_uuid, None)
        logger.info(
            'Direct HTTP path to %s at %s unusable (%s): using the peer '
            'connection',
            log_name(peer_uuid, self._names.get(peer_uuid, 'unknown')),
            address,
            reason,
        )

    async def get_connection(
        self,
        peer_uuid: uuid_module.UUID,
    ) -> Connection:
        """Return the connection to `peer_uuid`, offering one if needed.

        The connection may not be ready yet: see `send`.
        """
        self.relay_client  # noqa: B018 (raises before async_init)
        key = self._key(peer_uuid)
        connection = self._connections.get(key)
        if connection is not None:
            return connection
        connection = self._new_peer_connection()
        self._track(key, connection)
        logger.info(
            'Opening a peer connection to %s',
            log_name(peer_uuid, self._names.get(peer_uuid, 'unknown')),
        )
        self._start_establishing(key, connection, offer_to=peer_uuid)
        return connection

    def _start_establishing(
        self,
        key: frozenset[uuid_module.UUID],
        connection: PeerConnection,
        offer_to: uuid_module.UUID | None = None,
    ) -> None:
        task = asyncio.ensure_future(
            self._establish(key, connection, offer_to=offer_to),
        )
        self._tasks.add(task)
        self._establishing[key] = task

        def _done(task: asyncio.Task[None]) -> None:
            self._tasks.discard(task)
            if self._establishing.get(key) is task:
                del self._establishing[key]

        task.add_done_callback(_done)

    async def _establish(
        self,
        key: frozenset[uuid_module.UUID],
        connection: PeerConnection,
        offer_to: uuid_module.UUID | None = None,
    ) -> None:
        """Make `connection` ready, or replace it by a relayed one."""
        try:
            if offer_to is not None:
                await connection.send_offer(offer_to)
            await connection.ready(self._ice_timeout)
        except (PeerConnectionError, OSError, ConnectionClosed) as e:
            current = self._connections.get(key)
            if current is not None and current is not connection:
                return  # replaced meanwhile (glare, or the peer relayed)
            self._errors[key] = e
            peer = connection.peer_uuid
            if (
                peer is None
                or not self._relay_fallback
                or not self.relay_supports_peer_data
                or _is_relay_error(e)
            ):
                logger.warning('Peer connection failed: %s', e)
                await self.close_connection(key)
                return
            if not await self._wait_peer_key(peer):
                logger.warning(
                    'Peer connection failed (%s), and %s sent no key for '
                    'the relayed path',
                    e,
                    log_name(peer, connection.peer_name or 'unknown'),
                )
                await self.close_connection(key)
                return
            logger.info(
                'WebRTC connection to %s failed (%s): relaying its data '
                'through the relay server',
                log_name(peer, connection.peer_name or 'unknown'),
                e,
            )
            self._switch_to_relayed(key, peer, connection.peer_name)
            await connection.close()
            return
        peer = connection.peer_uuid
        assert peer is not None
        logger.info(
            'Established peer connection with %s (path: %s)',
            log_name(peer, connection.peer_name or 'unknown'),
            connection.path,
        )

    async def _wait_peer_key(self, peer: uuid_module.UUID) -> bool:
        """Wait (up to `timeout`) for the peer's relayed-path key."""
        if peer in self._peer_keys:
            return True
        event = self._peer_key_events.setdefault(peer, asyncio.Event())
        try:
            await asyncio.wait_for(event.wait(), self._timeout)
        except asyncio.TimeoutError:
            return False
        return peer in self._peer_keys

    def _switch_to_relayed(
        self,
        key: frozenset[uuid_module.UUID],
        peer: uuid_module.UUID,
        peer_name: str | None,
    ) -> RelayedConnection:
        # The caller checked that the peer's key is known.
        cipher = FrameCipher(
            self._relay_private_key,
            self._peer_keys[peer],
            self._relay_client.uuid,
            peer,
        )
        relayed = RelayedConnection(
            self._relay_client,
            peer,
            peer_name=peer_name or self._names.get(peer),
            cipher=cipher,
        )
        self._track(key, relayed)
        logger.info(
            'Established peer connection with %s (path: relayed)',
            log_name(peer, relayed.peer_name or 'unknown'),
        )
        return relayed

    async def send(
        self,
        peer_uuid: uuid_module.UUID,
        message: bytes | str,
        timeout: float = 30,
    ) -> None:
        """Send a message to a peer, connecting first if needed.

        Raises:
            PeerConnectionTimeoutError: If no connection is ready within
                `timeout` seconds.
            PeerConnectionError: If the connection failed.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        connection = await self._ready_connection(peer_uuid, deadline)
        await connection.send(
            message,
            timeout=max(deadline - loop.time(), 0.0),
        )

    async def _ready_connection(
        self,
        peer_uuid: uuid_module.UUID,
        deadline: float,
    ) -> Connection:
        """Return a ready connection to `peer_uuid`, making one if needed.

        Waits for the connection attempt (and its fallback) to finish.
        """
        loop = asyncio.get_running_loop()
        key = self._key(peer_uuid)
        self._errors.pop(key, None)
        await self.get_connection(peer_uuid)
        while True:
            task = self._establishing.get(key)
            if task is None or task.done():
                break
            remaining = max(deadline - loop.time(), 0.0)
            try:
                await asyncio.wait_for(asyncio.shield(task), remaining)
            except asyncio.TimeoutError:
                raise PeerConnectionTimeoutError(
                    'Timeout waiting for peer to peer connection to '
                    f'{peer_uuid} to establish.',
                ) from None
        connection = self._connections.get(key)
        if connection is None:
            error = self._errors.pop(key, None)
            raise PeerConnectionError(
                f'Failed to connect to peer {peer_uuid}: {error}',
            )
        await connection.ready(max(deadline - loop.time(), 0.0))
        return connection

    async def recv(self) -> tuple[uuid_module.UUID, bytes | str]:
        """Wait for the next message from any peer: `(peer_uuid, msg)`."""
        return await self._messages.get()

    async def _handle_server_messages(self) -> None:
        """Handle every message from the relay until the manager closes."""
        while True:
            try:
                message = await self._relay_client.recv()
            except RelayMessageDecodeError as e:
                logger.error('Failed to decode message from relay: %s', e)
                continue
            except (ConnectionClosed, OSError) as e:
                # The relay client reconnects on its own: wait and retry.
                logger.warning('Relay connection lost: %s', e)
                await asyncio.sleep(_RELAY_RETRY_SECONDS)
                continue
            except RelayRegistrationError as e:
                logger.error('Relay refused this endpoint: %s', e)
                return
            except Exception:
                logger.exception('Unexpected error receiving from relay')
                await asyncio.sleep(_RELAY_RETRY_SECONDS)
                continue
            try:
                await self._dispatch(message)
            except Exception:
                logger.exception('Failed to handle relay message')

    async def _dispatch(self, message: Any) -> None:
        if isinstance(message, PeerDataMessage):
            await self._handle_peer_data(message)
        elif isinstance(message, PeerConnectionRequest):
            await self._handle_peer_connection(message)
        elif isinstance(message, RelayResponse):
            logger.warning('Unexpected response from relay: %s', message)
        else:
            logger.error(
                'Unknown message type from relay: %s',
                type(message).__name__,
            )

    async def _handle_peer_connection(
        self,
        message: PeerConnectionRequest,
    ) -> None:
        me = self._relay_client.uuid
        if message.error is not None:
            # The relay bounced our message: the peer is the target.
            key = self._key(message.peer_uuid)
            connection = self._connections.get(key)
            if isinstance(connection, PeerConnection):
                await connection.handle_server_message(message)
            else:
                logger.warning('Relay error: %s', message.error)
            return
        peer = message.source_uuid
        if message.peer_uuid != me:
            logger.error('Relay delivered a message meant for another peer.')
            return
        self._names[peer] = message.source_name
        address = endpoint_address(message.description)
        if address is not None:
            self._http_addresses[peer] = address
        public_key = relay_key(message.description)
        if public_key is not None:
            try:
                X25519PublicKey.from_public_bytes(public_key)
            except ValueError:
                public_key = None
        if public_key is not None:
            self._peer_keys[peer] = public_key
            self._peer_key_events.setdefault(peer, asyncio.Event()).set()
        key = self._key(peer)
        connection = self._connections.get(key)
        if message.description_type == 'offer':
            if (
                isinstance(connection, PeerConnection)
                and connection._pc.signalingState == 'have-local-offer'
            ):
                # Glare: both offered. The lower UUID's offer wins.
                if me < peer:
                    logger.debug('Glare with %s: keeping our offer', peer)
                    return
                self._connections.pop(key, None)
                await connection.close()
                connection = None
            if connection is not None:
                # A new offer replaces what we had (the peer restarted).
                self._connections.pop(key, None)
                await connection.close()
            connection = self._new_peer_connection()
            self._track(key, connection)
            await connection.handle_server_message(message)
            self._start_establishing(key, connection)
        elif isinstance(connection, PeerConnection):
            await connection.handle_server_message(message)
        else:
            # Typically an answer that arrives after we fell back to the
            # relayed path.
            logger.debug(
                'Answer from %s matches no pending offer',
                log_name(peer, message.source_name),
            )

    async def _handle_peer_data(self, message: PeerDataMessage) -> None:
        if message.error is not None:
            key = self._key(message.peer_uuid)
            connection = self._connections.get(key)
            if isinstance(connection, RelayedConnection):
                await connection.handle_data_message(message)
            else:
                logger.warning('Relay error: %s', message.error)
            return
        if message.peer_uuid != self._relay_client.uuid:
            logger.error('Relay delivered data meant for another peer.')
            return
        peer = message.source_uuid
        key = self._key(peer)
        connection = self._connections.get(key)
        if not isinstance(connection, RelayedConnection):
            if peer not in self._peer_keys:
                logger.warning(
                    'Dropped relayed data from %s: no key from its offer '
                    'or answer',
                    log_name(peer, self._names.get(peer, 'unknown')),
                )
                return
            # The peer gave up on WebRTC: follow it onto the relayed path.
            old = connection
            name = self._names.get(peer)
            if old is not None:
                name = old.peer_name or name
            connection = self._switch_to_relayed(key, peer, name)
            if old is not None:
                await old.close()
        await connection.handle_data_message(message)


def _ice_timeout(ice_timeout: float | None, timeout: float) -> float:
    """Return the ICE timeout (`None`: from the environment or default).

    Raises:
        ValueError: If `PROXYSTORE_ICE_TIMEOUT` is not a positive number.
    """
    if ice_timeout is not None:
        return ice_timeout
    value = os.environ.get(ICE_TIMEOUT_ENV)
    if not value:
        return min(DEFAULT_ICE_TIMEOUT, timeout)
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1
    if not seconds > 0:
        raise ValueError(
            f'{ICE_TIMEOUT_ENV} must be a positive number of seconds, '
            f'not {value!r}.',
        )
    return seconds


def _transport_policy(
    policy: Literal['all', 'relay'] | None,
) -> Literal['all', 'relay']:
    """Return the ICE transport policy (`None`: from the environment).

    Raises:
        ValueError: If the policy is not `'all'` or `'relay'`.
    """
    if policy is None:
        value = os.environ.get(ICE_TRANSPORT_POLICY_ENV, 'all') or 'all'
    else:
        value = policy
    if value == 'all':
        return 'all'
    if value == 'relay':
        return 'relay'
    raise ValueError(
        f'ICE transport policy must be "all" or "relay", not {value!r} '
        f'(set in {ICE_TRANSPORT_POLICY_ENV} or passed to PeerManager).',
    )


def _relay_features(relay_client: Any) -> frozenset[str]:
    """Return the features the relay advertised at registration."""
    features = getattr(relay_client, 'features', None)
    if features is not None:
        return frozenset(features)
    message = getattr(relay_client, 'registration_message', None)
    if isinstance(message, str) and message.startswith(FEATURES_PREFIX):
        return frozenset(message[len(FEATURES_PREFIX) :].split(','))
    return frozenset()


def _is_relay_error(error: Exception) -> bool:
    return 'Received error message from relay server' in str(error)
