"""Peer-to-peer connections: WebRTC data channels, or relayed frames.

A `PeerConnection` is a WebRTC connection (aiortc) to one peer, set up by
an offer and an answer exchanged through the relay server (upstream
ProxyStore's flow): `channels` unordered data channels labelled
`p2p-{i}-{channels}` carry each message cut into chunks
(`proxystore.p2p.chunks`), chunk `i` on channel `i % channels`.

A `RelayedConnection` has the same API but sends every chunk through the
relay server's websocket as a `PeerDataMessage` (an extension of this
implementation). `PeerManager` uses it when ICE cannot connect the two
peers and the relay advertised the `peer_data` feature.

`path` says how a connection's data travels:

| path | meaning |
| --- | --- |
| `'webrtc-direct'` | WebRTC between host addresses (same host or LAN) |
| `'webrtc-hole-punched'` | WebRTC through NAT mappings found by STUN |
| `'webrtc-turn'` | WebRTC through a TURN server |
| `'relayed'` | through the ProxyStore relay's websocket |

(`PeerManager.peers()` also reports `'http'` for a peer whose requests
go straight to its HTTP server, see `proxystore.endpoint.peers`.)
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import os
import re
import uuid as uuid_module
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any
from typing import Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from proxystore.p2p.chunks import Chunk
from proxystore.p2p.chunks import chunkify
from proxystore.p2p.chunks import reconstruct
from proxystore.p2p.exceptions import PeerConnectionError
from proxystore.p2p.exceptions import PeerConnectionTimeoutError
from proxystore.p2p.relay.messages import PeerConnectionRequest
from proxystore.p2p.relay.messages import PeerDataMessage
from proxystore.utils.counter import AtomicCounter

try:
    from aiortc import RTCConfiguration
    from aiortc import RTCDataChannel
    from aiortc import RTCIceServer
    from aiortc import RTCPeerConnection
    from aiortc import RTCSessionDescription
    from aiortc.contrib.signaling import BYE
    from aiortc.contrib.signaling import object_from_string
    from aiortc.contrib.signaling import object_to_string
    from aiortc.rtcicetransport import RTCIceCandidate
except ImportError as e:  # pragma: no cover
    import warnings

    warnings.warn(
        f'{e}. To enable endpoint peering, install with '
        '"pip install proxystore[endpoints]".',
        stacklevel=2,
    )

native_transport_policy: Any
"""aiortc's `RTCIceTransportPolicy` (aiortc >= 1.16), else `None`.

Older aiortc (1.15 is the last release for Python 3.10) has no transport
policy; there the `'relay'` policy is applied to the session descriptions
instead (see `only_relay_candidates`).
"""
try:
    from aiortc.rtcconfiguration import RTCIceTransportPolicy  # type: ignore[attr-defined, unused-ignore]

    native_transport_policy = RTCIceTransportPolicy
except ImportError:  # pragma: no cover (aiortc < 1.16, or no aiortc)
    native_transport_policy = None

logger = logging.getLogger(__name__)

MAX_CHUNK_SIZE_STRING = 2**15
"""Largest chunk of a str message (characters)."""

MAX_CHUNK_SIZE_BYTES = 2**15
"""Largest chunk of a bytes message."""

RELAYED_CHUNK_SIZE = 2**18
"""Largest chunk of a relayed message (bytes, or characters of a str).

One chunk is one relay frame: base64 makes it 4/3 larger, which stays
under the relay's default 512 KiB peer-data frame limit.
"""

MAX_MESSAGE_SIZE_DEFAULT = 2**31
"""Default largest message (bytes) a connection accepts from its peer."""

BUFFER_HIGH_WATER = 2**20
"""Bytes queued on a data channel before `send` waits for it to drain."""

BUFFER_LOW_WATER = 2**19
"""Queued bytes at which a waiting `send` resumes."""

ENDPOINT_ADDRESS_ATTRIBUTE = 'x-proxystore-endpoint'
"""SDP session attribute carrying the HTTP address of the sender.

An extension: `a=x-proxystore-endpoint:<url>` in an offer or answer tells
the peer where the sender's endpoint serves HTTP, so a peer that can reach
it may forward requests there directly. SDP parsers ignore unknown
attributes, so upstream peers are unaffected.
"""

RELAY_KEY_ATTRIBUTE = 'x-proxystore-relay-key'
"""SDP session attribute carrying the sender's X25519 public key.

An extension: `a=x-proxystore-relay-key:<base64>`. Data on the relayed
path is encrypted end to end with a key both peers derive from their two
public keys, so the relay server cannot read it.
"""

_KEY_LINE = re.compile(
    r'^a='
    + re.escape(RELAY_KEY_ATTRIBUTE)
    + r':([A-Za-z0-9+/=_-]{40,60})\r?$',
    re.MULTILINE,
)
_ADDRESS_LINE = re.compile(
    r'^a=' + re.escape(ENDPOINT_ADDRESS_ATTRIBUTE) + r':(https?://[^\s]+)\r?$',
    re.MULTILINE,
)
_MAX_ADDRESS_LENGTH = 2048
_STREAM_IDS = 2**32 - 1
_LABEL = re.compile(r'(\d+)-(\d+)$')

Path = Literal[
    'webrtc-direct', 'webrtc-hole-punched', 'webrtc-turn', 'relayed'
]
"""How a connection's data travels (see the module docstring)."""


def log_name(uuid: uuid_module.UUID, name: str) -> str:
    """Return the short name of a peer used in logs: `name(uuid[:8])`."""
    return f'{name}({str(uuid)[:8]})'


def add_endpoint_address(sdp: str, address: str) -> str:
    """Return `sdp` with the endpoint address attribute at session level."""
    return _add_attribute(sdp, ENDPOINT_ADDRESS_ATTRIBUTE, address)


def only_relay_candidates(sdp: str) -> str:
    """Return `sdp` without its ICE candidates other than `typ relay`.

    With neither side advertising host or server-reflexive candidates, ICE
    can only pair through a TURN relay: the `'relay'` transport policy on
    aiortc releases that lack one.
    """
    lines = sdp.split('\r\n')
    kept = [
        line
        for line in lines
        if not line.startswith('a=candidate:') or ' typ relay' in line
    ]
    return '\r\n'.join(kept)


def _add_attribute(sdp: str, name: str, value: str) -> str:
    line = f'a={name}:{value}\r\n'
    index = sdp.find('\r\nm=')
    if index < 0:
        return sdp + line
    return sdp[: index + 2] + line + sdp[index + 2 :]


def endpoint_address(description: str) -> str | None:
    """Return the endpoint address a peer put in its description, if any.

    Args:
        description: The `description` of a `PeerConnectionRequest` (the
            JSON of the session description).
    """
    sdp = _sdp(description)
    match = None if sdp is None else _ADDRESS_LINE.search(sdp)
    if match is None or len(match.group(1)) > _MAX_ADDRESS_LENGTH:
        return None
    return match.group(1)


def relay_key(description: str) -> bytes | None:
    """Return the X25519 public key a peer put in its description, if any.

    Args:
        description: The `description` of a `PeerConnectionRequest`.
    """
    sdp = _sdp(description)
    match = None if sdp is None else _KEY_LINE.search(sdp)
    if match is None:
        return None
    try:
        key = base64.b64decode(match.group(1), validate=True)
    except (binascii.Error, ValueError):
        return None
    return key if len(key) == 32 else None


def _sdp(description: str) -> str | None:
    try:
        sdp = json.loads(description).get('sdp')
    except (ValueError, AttributeError):
        return None
    return sdp if isinstance(sdp, str) else None


class FrameCipher:
    """End-to-end encryption of relayed frames between two peers.

    Both peers derive the same ChaCha20-Poly1305 key with HKDF-SHA256
    from their X25519 key agreement; each frame gets a random 96-bit nonce
    and is bound to the direction (source and peer UUIDs) it travels.

    Args:
        private_key: This side's X25519 private key.
        peer_public_key: The peer's raw 32-byte X25519 public key.
        local_uuid: UUID of this side.
        peer_uuid: UUID of the peer.

    Raises:
        ValueError: If `peer_public_key` is not a valid X25519 key.
    """

    def __init__(
        self,
        private_key: X25519PrivateKey,
        peer_public_key: bytes,
        local_uuid: uuid_module.UUID,
        peer_uuid: uuid_module.UUID,
    ) -> None:
        shared = private_key.exchange(
            X25519PublicKey.from_public_bytes(peer_public_key),
        )
        first, second = sorted((local_uuid.bytes, peer_uuid.bytes))
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=b'proxystore relayed peer data',
            info=first + second,
        ).derive(shared)
        self._aead = ChaCha20Poly1305(key)
        self._outgoing = local_uuid.bytes + peer_uuid.bytes
        self._incoming = peer_uuid.bytes + local_uuid.bytes

    def seal(self, frame: bytes) -> bytes:
        """Encrypt a frame sent to the peer."""
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, frame, self._outgoing)

    def open(self, blob: bytes) -> bytes:
        """Decrypt a frame from the peer.

        Raises:
            PeerConnectionError: If the frame was not sealed by the peer
                for this side (tampered, replayed the other way, or
                another key).
        """
        try:
            return self._aead.decrypt(blob[:12], blob[12:], self._incoming)
        except (InvalidTag, ValueError) as e:
            raise PeerConnectionError(
                'Relayed frame failed authentication.',
            ) from e


class _Assembler:
    """Rebuilds messages from their chunks, which may come in any order.

    Args:
        max_message_size: Largest message accepted; chunks of a larger one
            are refused with `PeerConnectionError`.
    """

    def __init__(self, max_message_size: int | None) -> None:
        self.max_message_size = max_message_size
        self._streams: dict[int, list[Chunk]] = {}

    def add(self, frame: bytes) -> bytes | str | None:
        """Add one chunk; return the message once it is complete.

        Raises:
            PeerConnectionError: If the frame is not a chunk, or its
                message would exceed `max_message_size`.
        """
        try:
            chunk = Chunk.from_bytes(frame)
        except ValueError as e:
            raise PeerConnectionError(f'Malformed chunk: {e}') from e
        limit = self.max_message_size
        if limit is not None and chunk.seq_len > 1 + limit // max(
            len(chunk.data),
            1,
        ):
            raise PeerConnectionError(
                f'Message of {chunk.seq_len} chunks exceeds the '
                f'{limit}-byte message limit.',
            )
        chunks = self._streams.setdefault(chunk.stream_id, [])
        chunks.append(chunk)
        if len(chunks) < chunk.seq_len:
            return None
        del self._streams[chunk.stream_id]
        try:
            return reconstruct(chunks)
        except ValueError as e:
            raise PeerConnectionError(f'Malformed message: {e}') from e


class _BaseConnection:
    """What WebRTC and relayed connections share: framing and bookkeeping.

    Args:
        relay_client: Relay client of this side (gives its uuid and name).
        max_message_size: Largest message accepted from the peer.
    """

    def __init__(
        self,
        relay_client: Any,
        *,
        max_message_size: int | None = MAX_MESSAGE_SIZE_DEFAULT,
    ) -> None:
        self._relay_client = relay_client
        self._peer_uuid: uuid_module.UUID | None = None
        self._peer_name: str | None = None
        self._counter = AtomicCounter(size=_STREAM_IDS)
        self._assembler = _Assembler(max_message_size)
        self._incoming: asyncio.Queue[bytes | str] = asyncio.Queue()
        self._close_callbacks: list[Callable[[], Any]] = []
        self._closed = False
        self.bytes_sent = 0
        """Bytes of messages sent to the peer."""
        self.bytes_received = 0
        """Bytes of messages received from the peer."""

    @property
    def peer_uuid(self) -> uuid_module.UUID | None:
        """UUID of the peer (`None` until known)."""
        return self._peer_uuid

    @property
    def peer_name(self) -> str | None:
        """Name of the peer (`None` until known)."""
        return self._peer_name

    @property
    def path(self) -> Path | None:
        """How data travels (`None` until the connection is up)."""
        raise NotImplementedError

    def _log_peer(self) -> str:
        uuid = self._peer_uuid or uuid_module.UUID(int=0)
        return log_name(uuid, self._peer_name or 'unknown')

    def on_close_callback(
        self,
        callback: Callable[..., Any],
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """Call `callback(*args, **kwargs)` when the connection closes.

        A coroutine function is scheduled as a task.
        """
        self._close_callbacks.append(lambda: callback(*args, **kwargs))

    def _run_close_callbacks(self) -> None:
        callbacks, self._close_callbacks = self._close_callbacks, []
        for callback in callbacks:
            result = callback()
            if asyncio.iscoroutine(result):
                asyncio.ensure_future(result)

    def _frames(
        self,
        message: bytes | str,
        size: int | None = None,
    ) -> Iterator[bytes]:
        """Cut a message into the wire frames of chunks of `size`."""
        if not message:
            raise PeerConnectionError('Cannot send an empty message.')
        if size is None:
            size = (
                MAX_CHUNK_SIZE_STRING
                if isinstance(message, str)
                else MAX_CHUNK_SIZE_BYTES
            )
        try:
            stream_id = self._counter.increment()
        except ValueError as e:
            raise PeerConnectionError(str(e)) from e
        self.bytes_sent += len(message)
        return (bytes(c) for c in chunkify(message, size, stream_id))

    def _receive_frame(self, frame: bytes) -> None:
        try:
            message = self._assembler.add(frame)
        except PeerConnectionError as e:
            logger.warning(
                'Dropped data from peer %s: %s',
                self._log_peer(),
                e,
            )
            return
        if message is not None:
            self.bytes_received += len(message)
            self._incoming.put_nowait(message)

    async def recv(self) -> bytes | str:
        """Wait for the next message from the peer."""
        return await self._incoming.get()


class PeerConnection(_BaseConnection):
    """A WebRTC connection to one peer.

    Must be created inside a running event loop. The offering side calls
    `send_offer(peer_uuid)`; the other side passes the offer to
    `handle_server_message`, which answers it. `ready()` waits until every
    data channel is open.

    Args:
        relay_client: Relay client used to exchange the offer and answer.
        channels: Number of data channels.
        ice_servers: STUN/TURN servers (`None`: aiortc's default public
            STUN server; `[]`: none, so only host candidates).
        ice_transport_policy: `'relay'` allows only TURN candidates (with
            no TURN server ICE then fails, which forces the relayed
            fallback of `PeerManager`).
        max_message_size: Largest message accepted from the peer.
        http_address: HTTP address of this side's endpoint, sent to the
            peer in the session description (`ENDPOINT_ADDRESS_ATTRIBUTE`).
        relay_public_key: This side's X25519 public key for the relayed
            path, sent the same way (`RELAY_KEY_ATTRIBUTE`).
    """

    def __init__(
        self,
        relay_client: Any,
        *,
        channels: int = 1,
        ice_servers: list[RTCIceServer] | None = None,
        ice_transport_policy: Literal['all', 'relay'] = 'all',
        max_message_size: int | None = MAX_MESSAGE_SIZE_DEFAULT,
        http_address: str | None = None,
        relay_public_key: bytes | None = None,
    ) -> None:
        if channels < 1:
            raise ValueError(f'Need at least one channel, not {channels}.')
        super().__init__(relay_client, max_message_size=max_message_size)
        self._channel_count = channels
        self._http_address = http_address
        self._relay_public_key = relay_public_key
        self._expected_channels = channels
        self._channels: dict[str, RTCDataChannel] = {}
        self._drained: dict[str, asyncio.Event] = {}
        self._open_channels = 0
        options: dict[str, Any] = {'iceServers': ice_servers}
        if native_transport_policy is not None:
            options['iceTransportPolicy'] = native_transport_policy(
                ice_transport_policy,
            )
        # Without a native policy, 'relay' filters the descriptions.
        self._filter_candidates = (
            native_transport_policy is None and ice_transport_policy == 'relay'
        )
        self._pc = RTCPeerConnection(RTCConfiguration(**options))
        loop = asyncio.get_running_loop()
        self._handshake_success: asyncio.Future[bool] = loop.create_future()
        self._pc.on('connectionstatechange', self._on_state_change)
        self._pc.on('datachannel', self._on_datachannel)

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(peer={self._log_peer()}, '
            f'state={self.state!r}, path={self.path!r})'
        )

    @property
    def state(self) -> str:
        """State: `'new'`, `'connecting'`, `'connected'`, `'closed'`..."""
        state: str = self._pc.connectionState
        return state

    @property
    def path(self) -> Path | None:
        """How data travels: `'webrtc-direct'`, `-hole-punched`, `-turn`."""
        if self.state != 'connected':
            return None
        types = _selected_candidate_types(self._pc)
        if types is None:
            return 'webrtc-direct'
        if 'relay' in types:
            return 'webrtc-turn'
        if types & {'srflx', 'prflx'}:
            return 'webrtc-hole-punched'
        return 'webrtc-direct'

    async def _on_state_change(self) -> None:
        state = self._pc.connectionState
        logger.debug('Peer %s connection state: %s', self._log_peer(), state)
        if state in ('failed', 'closed'):
            self._fail_handshake(
                PeerConnectionError(
                    f'Peer connection with {self._log_peer()} {state}.',
                ),
            )
            await self.close()

    def _fail_handshake(self, error: Exception) -> None:
        if not self._handshake_success.done():
            self._handshake_success.set_exception(error)
            # Retrieved here so an unawaited failure is not reported.
            self._handshake_success.exception()

    def _add_channel(self, channel: RTCDataChannel) -> None:
        label = channel.label
        self._channels[label] = channel
        self._drained[label] = asyncio.Event()
        channel.bufferedAmountLowThreshold = BUFFER_LOW_WATER
        channel.on('bufferedamountlow', self._drained[label].set)
        channel.on('message', self._receive_frame_checked)

    def _receive_frame_checked(self, frame: bytes | str) -> None:
        if isinstance(frame, str):
            logger.warning(
                'Dropped a text frame from peer %s: chunks are binary.',
                self._log_peer(),
            )
            return
        self._receive_frame(frame)

    def _channel_opened(self) -> None:
        self._open_channels += 1
        if (
            self._open_channels >= self._expected_channels
            and not self._handshake_success.done()
        ):
            self._handshake_success.set_result(True)

    def _on_datachannel(self, channel: RTCDataChannel) -> None:
        match = _LABEL.search(channel.label)
        if match is None:
            self._fail_handshake(
                PeerConnectionError(
                    f'Peer opened a data channel with an unexpected label '
                    f'{channel.label!r}.',
                ),
            )
            return
        self._expected_channels = int(match.group(2))
        self._add_channel(channel)
        self._channel_opened()

    async def send_offer(self, peer_uuid: uuid_module.UUID) -> None:
        """Open the data channels and send an offer to `peer_uuid`."""
        self._peer_uuid = peer_uuid
        for i in range(self._channel_count):
            channel = self._pc.createDataChannel(
                f'p2p-{i}-{self._channel_count}',
                ordered=False,
            )
            self._add_channel(channel)
            channel.on('open', self._channel_opened)
        await self._pc.setLocalDescription(await self._pc.createOffer())
        await self._send_description(peer_uuid, 'offer')
        self._check_local_candidates()

    async def send_answer(self, peer_uuid: uuid_module.UUID) -> None:
        """Answer the offer already set as the remote description."""
        await self._pc.setLocalDescription(await self._pc.createAnswer())
        await self._send_description(peer_uuid, 'answer')
        self._check_local_candidates()

    def _check_local_candidates(self) -> None:
        # aiortc gathers every candidate before setLocalDescription
        # returns. With none (e.g. policy 'relay' and no TURN server) ICE
        # cannot succeed, but aiortc would only time out: fail now.
        sdp = self._local_sdp()
        if sdp is not None and 'a=candidate:' not in sdp:
            self._fail_handshake(
                PeerConnectionError(
                    'No ICE candidates were gathered (no usable interface, '
                    'or transport policy "relay" without a TURN server).',
                ),
            )

    def _local_sdp(self) -> str | None:
        description = self._pc.localDescription
        if description is None:
            return None
        sdp: str = description.sdp
        return only_relay_candidates(sdp) if self._filter_candidates else sdp

    async def _send_description(
        self,
        peer_uuid: uuid_module.UUID,
        description_type: Literal['answer', 'offer'],
    ) -> None:
        local = self._pc.localDescription
        sdp = self._local_sdp()
        assert sdp is not None
        if self._http_address is not None:
            sdp = add_endpoint_address(sdp, self._http_address)
        if self._relay_public_key is not None:
            sdp = _add_attribute(
                sdp,
                RELAY_KEY_ATTRIBUTE,
                base64.b64encode(self._relay_public_key).decode('ascii'),
            )
        if sdp != local.sdp:
            local = RTCSessionDescription(sdp=sdp, type=local.type)
        message = PeerConnectionRequest(
            source_uuid=self._relay_client.uuid,
            source_name=self._relay_client.name,
            peer_uuid=peer_uuid,
            description_type=description_type,
            description=object_to_string(local),
        )
        await self._relay_client.send(message)

    async def handle_server_message(
        self,
        message: PeerConnectionRequest,
    ) -> None:
        """Apply an offer, answer or candidate relayed from the peer.

        An offer is answered. A message with `error` set (the relay could
        not deliver ours) fails the handshake.
        """
        if message.error is not None:
            self._fail_handshake(
                PeerConnectionError(
                    'Received error message from relay server: '
                    f'{message.error}',
                ),
            )
            return
        self._peer_uuid = message.source_uuid
        self._peer_name = message.source_name
        try:
            obj = object_from_string(message.description)
        except (ValueError, KeyError, TypeError) as e:
            self._fail_handshake(
                PeerConnectionError(f'Malformed session description: {e}'),
            )
            return
        if isinstance(obj, RTCSessionDescription):
            if self._filter_candidates:
                obj = RTCSessionDescription(
                    sdp=only_relay_candidates(obj.sdp),
                    type=obj.type,
                )
            try:
                await self._pc.setRemoteDescription(obj)
                if obj.type == 'offer':
                    await self.send_answer(message.source_uuid)
            except (ValueError, KeyError, TypeError) as e:
                # aiortc refuses a description it cannot use.
                self._fail_handshake(
                    PeerConnectionError(f'Unusable session description: {e}'),
                )
        elif isinstance(obj, RTCIceCandidate):
            if not self._filter_candidates or obj.type == 'relay':
                await self._pc.addIceCandidate(obj)
        elif obj is BYE:
            await self.close()

    async def ready(self, timeout: float | None = None) -> None:
        """Wait until the connection can carry messages.

        Raises:
            PeerConnectionTimeoutError: If not ready within `timeout`.
            PeerConnectionError: If the handshake failed.
        """
        try:
            await asyncio.wait_for(
                asyncio.shield(self._handshake_success),
                timeout,
            )
        except asyncio.TimeoutError:
            raise PeerConnectionTimeoutError(
                'Timeout waiting for peer to peer connection to establish '
                f'in {timeout} seconds.',
            ) from None

    async def send(self, message: bytes | str, timeout: float = 30) -> None:
        """Send one message (it must not be empty).

        Raises:
            PeerConnectionTimeoutError: If the connection is not ready
                within `timeout`.
            PeerConnectionError: If the connection failed or closed.
        """
        await self.ready(timeout)
        channels = list(self._channels.values())
        labels = list(self._channels)
        for i, frame in enumerate(self._frames(message)):
            channel = channels[i % len(channels)]
            if channel.bufferedAmount > BUFFER_HIGH_WATER:
                drained = self._drained[labels[i % len(channels)]]
                drained.clear()
                await drained.wait()
            if channel.readyState != 'open':
                raise PeerConnectionError(
                    f'Data channel to {self._log_peer()} is '
                    f'{channel.readyState}.',
                )
            channel.send(frame)

    async def close(self) -> None:
        """Close the connection and run the close callbacks (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._fail_handshake(
            PeerConnectionError(
                f'Peer connection with {self._log_peer()} closed.',
            ),
        )
        await self._pc.close()
        for event in self._drained.values():
            event.set()
        self._run_close_callbacks()


class RelayedConnection(_BaseConnection):
    """A connection whose chunks travel through the relay's websocket.

    Each chunk is one `PeerDataMessage` (base64 text). The relay forwards
    it to the peer, so this works whenever both peers reach the relay.

    Args:
        relay_client: Relay client of this side.
        peer_uuid: UUID of the peer.
        peer_name: Name of the peer, if known (for logs).
        max_message_size: Largest message accepted from the peer.
        cipher: Encrypts frames end to end (`None`: the relay can read
            them; `PeerManager` always sets one).
    """

    def __init__(
        self,
        relay_client: Any,
        peer_uuid: uuid_module.UUID,
        *,
        peer_name: str | None = None,
        max_message_size: int | None = MAX_MESSAGE_SIZE_DEFAULT,
        cipher: FrameCipher | None = None,
    ) -> None:
        super().__init__(relay_client, max_message_size=max_message_size)
        self._peer_uuid = peer_uuid
        self._peer_name = peer_name
        self._cipher = cipher
        self._error: PeerConnectionError | None = None

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(peer={self._log_peer()}, '
            f'state={self.state!r})'
        )

    @property
    def state(self) -> str:
        """`'connected'`, `'failed'` (the relay refused) or `'closed'`."""
        if self._error is not None:
            return 'failed'
        return 'closed' if self._closed else 'connected'

    @property
    def path(self) -> Path | None:
        """Always `'relayed'`."""
        return 'relayed'

    async def ready(self, timeout: float | None = None) -> None:
        """Return at once unless the connection failed or closed.

        Raises:
            PeerConnectionError: If the connection failed or closed.
        """
        if self._error is not None:
            raise self._error
        if self._closed:
            raise PeerConnectionError(
                f'Relayed connection with {self._log_peer()} closed.',
            )

    async def send(self, message: bytes | str, timeout: float = 30) -> None:
        """Send one message through the relay (it must not be empty).

        Raises:
            PeerConnectionError: If the connection failed or closed, or
                the relay did not take the message within `timeout`.
        """
        await self.ready()
        assert self._peer_uuid is not None
        peer = self._peer_uuid
        source = self._relay_client.uuid
        frames = self._frames(message, RELAYED_CHUNK_SIZE)

        cipher = self._cipher

        async def _send_all() -> None:
            for frame in frames:
                if cipher is not None:
                    frame = cipher.seal(frame)
                await self._relay_client.send(
                    PeerDataMessage(
                        source_uuid=source,
                        peer_uuid=peer,
                        data=base64.b64encode(frame).decode('ascii'),
                    ),
                )

        try:
            await asyncio.wait_for(_send_all(), timeout)
        except asyncio.TimeoutError:
            raise PeerConnectionTimeoutError(
                f'Relay did not take a message for {self._log_peer()} '
                f'within {timeout} seconds.',
            ) from None

    async def handle_data_message(self, message: PeerDataMessage) -> None:
        """Take one chunk relayed from the peer, or the relay's error."""
        if message.error is not None:
            self._error = PeerConnectionError(
                f'Received error message from relay server: {message.error}',
            )
            logger.warning(
                'Relayed connection with %s failed: %s',
                self._log_peer(),
                message.error,
            )
            await self.close()
            return
        try:
            frame = base64.b64decode(message.data, validate=True)
        except (binascii.Error, ValueError) as e:
            logger.warning(
                'Dropped relayed data from %s: not base64 (%s).',
                self._log_peer(),
                e,
            )
            return
        if self._cipher is not None:
            try:
                frame = self._cipher.open(frame)
            except PeerConnectionError as e:
                logger.warning(
                    'Dropped relayed data from %s: %s',
                    self._log_peer(),
                    e,
                )
                return
        self._receive_frame(frame)

    async def close(self) -> None:
        """Close the connection and run the close callbacks (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._run_close_callbacks()


def _selected_candidate_types(pc: RTCPeerConnection) -> set[str] | None:
    """Return the candidate types of the ICE pair carrying the data.

    aiortc does not expose the selected pair publicly: this reads
    aioice's nominated pair and returns `None` if that is not possible.
    """
    try:
        sctp: Any = pc.sctp
        ice = sctp.transport.transport  # RTCDtlsTransport -> RTCIceTransport
        nominated = ice._connection._nominated
        pairs = list(nominated.values())
    except AttributeError:  # pragma: no cover
        return None
    if not pairs:
        return None
    pair = pairs[0]
    return {pair.local_candidate.type, pair.remote_candidate.type}
