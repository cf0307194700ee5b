"""Client of a relay server: register, then send and receive messages.

```python
async with RelayClient('wss://relay.example.org') as client:
    await client.send(PeerConnectionRequest(...))
    message = await client.recv()
```

`extra_headers` go into the websocket handshake: an `Authorization:
Bearer <token>` header for a relay with Globus authentication, and the
endpoint secret header (`proxystore.p2p.relay.secret.secret_headers`)
that proves a UUID is this client's on a relay without authentication.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import uuid as uuid_module
from types import TracebackType
from typing import TYPE_CHECKING

from typing_extensions import Self

from proxystore.p2p.relay import warn_missing_dependency
from proxystore.p2p.relay.exceptions import RelayNotConnectedError
from proxystore.p2p.relay.exceptions import RelayRegistrationError
from proxystore.p2p.relay.messages import RelayMessage
from proxystore.p2p.relay.messages import RelayMessageDecodeError
from proxystore.p2p.relay.messages import RelayRegistrationRequest
from proxystore.p2p.relay.messages import RelayResponse
from proxystore.p2p.relay.messages import decode_relay_message
from proxystore.p2p.relay.messages import encode_relay_message
from proxystore.p2p.relay.messages import parse_features
from proxystore.utils.tasks import cancel_and_wait

try:
    import websockets.asyncio.client
    from websockets.exceptions import ConnectionClosed
    from websockets.protocol import State
except ImportError as e:  # pragma: no cover - depends on extras
    warn_missing_dependency(e)

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection

logger = logging.getLogger(__name__)


class RelayClient:
    """A registered connection to a relay server.

    Args:
        address: Relay address, `ws://` or `wss://`.
        client_name: Name to register (default: the host name).
        client_uuid: UUID to register (default: a new `uuid4()`).
        extra_headers: Extra handshake headers (authorization, endpoint
            secret).
        reconnect_task: Reconnect by itself whenever the connection
            closes, except after a close code that says retrying is futile
            (4001, 4002, 4004).
        ssl_context: TLS context for `wss://` (default:
            `ssl.create_default_context()`).
        timeout: Seconds to open the connection and to get the
            registration answer.
        verify_certificate: Verify the relay's certificate (only applies
            to the default context).

    Raises:
        ValueError: If `address` does not start with `ws://` or `wss://`.
    """

    _initial_backoff_seconds = 1.0
    _max_backoff_seconds = 60.0
    _unrecoverable_status_codes = (4001, 4002, 4004)

    def __init__(
        self,
        address: str,
        *,
        client_name: str | None = None,
        client_uuid: uuid_module.UUID | None = None,
        extra_headers: dict[str, str] | None = None,
        reconnect_task: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        timeout: float = 10,
        verify_certificate: bool = True,
    ) -> None:
        if not address.startswith(('ws://', 'wss://')):
            raise ValueError(
                f'Relay address {address!r} must start with ws:// or wss://.',
            )
        self._address = address
        self._name = (
            socket.gethostname() if client_name is None else client_name
        )
        self._uuid = (
            uuid_module.uuid4() if client_uuid is None else client_uuid
        )
        self._extra_headers = dict(extra_headers or {})
        self._reconnect_task_enabled = reconnect_task
        self._timeout = timeout
        if ssl_context is None and address.startswith('wss://'):
            ssl_context = ssl.create_default_context()
            if not verify_certificate:
                ssl_context.check_hostname = False
                ssl_context.verify_mode = ssl.CERT_NONE
        self._ssl_context = (
            ssl_context if address.startswith('wss://') else None
        )
        self._websocket: ClientConnection | None = None
        self._refused: ConnectionClosed | None = None
        self._features: frozenset[str] = frozenset()
        self._reconnect: asyncio.Task[None] | None = None
        self._closing = False
        self._connect_lock: asyncio.Lock | None = None

    @property
    def address(self) -> str:
        """Address of the relay."""
        return self._address

    @property
    def name(self) -> str:
        """Name this client registers with."""
        return self._name

    @property
    def uuid(self) -> uuid_module.UUID:
        """UUID this client registers with."""
        return self._uuid

    @property
    def timeout(self) -> float:
        """Seconds to open the connection and get the registration answer."""
        return self._timeout

    @property
    def features(self) -> frozenset[str]:
        """Extensions the relay advertised at the last registration.

        Empty for an upstream relay; contains `'peer_data'` for a relay
        that forwards `PeerDataMessage`.
        """
        return self._features

    @property
    def websocket(self) -> ClientConnection:
        """The open connection to the relay.

        Raises:
            RelayNotConnectedError: If the connection is not open.
        """
        if self._websocket is None or self._websocket.state != State.OPEN:
            raise RelayNotConnectedError(
                'The websocket to the relay server is not open. Call '
                'connect() first.',
            )
        return self._websocket

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        exc_traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def _refusal(self) -> RelayRegistrationError | None:
        if self._refused is None or self._refused.rcvd is None:
            return None
        close = self._refused.rcvd
        return RelayRegistrationError(
            f'The relay server closed the connection with code {close.code}'
            f' and will not accept this client again: {close.reason}',
        )

    async def connect(self, retry: bool = True) -> None:
        """Open the connection and register, unless it is already open.

        Args:
            retry: Retry with exponential backoff (1 s doubling to 60 s)
                while the relay cannot be reached.

        Raises:
            RelayRegistrationError: If the relay refused this client
                (close code 4001, 4002 or 4004, now or before) or answered
                the registration with an error.
            ssl.SSLError: If the TLS handshake fails (for example, the
                certificate does not verify); never retried.
            OSError: If the relay cannot be reached and `retry` is false.
        """
        if self._connect_lock is None:
            self._connect_lock = asyncio.Lock()
        async with self._connect_lock:
            await self._connect(retry)

    async def _connect(self, retry: bool) -> None:
        if self._websocket is not None and self._websocket.state == State.OPEN:
            return
        refusal = self._refusal()
        if refusal is not None:
            raise refusal
        self._closing = False
        backoff = self._initial_backoff_seconds
        while True:
            try:
                await self._register(self._timeout)
                break
            except ConnectionClosed as e:
                if (
                    e.rcvd is not None
                    and e.rcvd.code in self._unrecoverable_status_codes
                ):
                    self._refused = e
                    refusal = self._refusal()
                    assert refusal is not None
                    raise refusal from e
                if not retry:
                    raise
                error: BaseException = e
            except ssl.SSLError:
                raise
            except (OSError, asyncio.TimeoutError) as e:
                if not retry:
                    raise
                error = e
            logger.warning(
                'Failed to connect to relay server at %s (%s); retrying in '
                '%.0f s',
                self._address,
                error,
                backoff,
            )
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self._max_backoff_seconds)
        if self._reconnect_task_enabled and (
            self._reconnect is None or self._reconnect.done()
        ):
            self._reconnect = asyncio.create_task(self._reconnect_on_close())

    async def _register(self, timeout: float) -> None:
        websocket = await websockets.asyncio.client.connect(
            self._address,
            additional_headers=self._extra_headers,
            open_timeout=timeout,
            ssl=self._ssl_context,
        )
        try:
            await websocket.send(
                encode_relay_message(
                    RelayRegistrationRequest(name=self._name, uuid=self._uuid),
                ),
            )
            message = await asyncio.wait_for(websocket.recv(), timeout)
            assert isinstance(message, str), 'Relay sent a binary frame.'
            try:
                response = decode_relay_message(message)
            except RelayMessageDecodeError as e:
                raise RelayRegistrationError(
                    'Unable to decode response message from relay server.',
                ) from e
            if not isinstance(response, RelayResponse):
                raise RelayRegistrationError(
                    'Relay server replied with unknown message type.',
                )
            if not response.success:
                raise RelayRegistrationError(
                    'Failed to register as peer with the relay server. Got '
                    f'exception: {response.message}',
                )
        except BaseException:
            await websocket.close()
            raise
        self._websocket = websocket
        self._features = parse_features(response.message)
        logger.info(
            'Registered %s (%s) with relay server at %s',
            self._uuid,
            self._name,
            self._address,
        )

    async def _reconnect_on_close(self) -> None:
        while not self._closing:
            websocket = self._websocket
            if websocket is None:
                return
            await websocket.wait_closed()
            if self._closing:
                return
            code = websocket.close_code
            if code in self._unrecoverable_status_codes:
                self._refused = websocket.protocol.close_exc
                logger.error(
                    'Relay server closed the connection with code %s (%s); '
                    'not reconnecting',
                    code,
                    websocket.close_reason,
                )
                return
            logger.warning(
                'Connection to relay server closed (code %s); reconnecting',
                code,
            )
            try:
                await self.connect()
            except Exception as e:
                logger.error('Reconnecting to the relay server failed: %s', e)
                return

    async def close(self) -> None:
        """Stop reconnecting and close the connection."""
        self._closing = True
        if self._reconnect is not None:
            await cancel_and_wait([self._reconnect])
            self._reconnect = None
        if self._websocket is not None:
            await self._websocket.close()

    async def recv(self) -> RelayMessage:
        """Receive the next message from the relay (connects if needed).

        Raises:
            RelayMessageDecodeError: If the frame is not a relay message.
            websockets.exceptions.ConnectionClosed: If the connection
                closes while waiting.
        """
        await self.connect()
        message = await self.websocket.recv()
        assert isinstance(message, str), 'Relay sent a binary frame.'
        return decode_relay_message(message)

    async def send(self, message: RelayMessage) -> None:
        """Send a message to the relay (connects if needed).

        Raises:
            RelayMessageEncodeError: If `message` cannot be encoded.
            websockets.exceptions.ConnectionClosed: If the connection is
                closed.
        """
        await self.connect()
        await self.websocket.send(encode_relay_message(message))
