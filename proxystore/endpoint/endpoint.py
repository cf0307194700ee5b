"""The endpoint: a named blob store that forwards requests to its peers.

An `Endpoint` without a `PeerManager` runs in `EndpointMode.SOLO`: every
request is served from its storage, whatever endpoint it names. With a
peer manager it runs in `EndpointMode.PEERING`: a request naming another
endpoint is sent to that peer as an `EndpointRequest`
(`proxystore.endpoint.messages`) over a peer connection, and requests
from peers are served from storage and answered the same way.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import uuid as uuid_module
from typing import TYPE_CHECKING
from typing import Any

from proxystore.endpoint.exceptions import PeeringNotAvailableError
from proxystore.endpoint.exceptions import PeerRequestError
from proxystore.endpoint.keys import validate_key
from proxystore.endpoint.keys import validate_uuid
from proxystore.endpoint.messages import EndpointRequest
from proxystore.endpoint.messages import MessageDecodeError
from proxystore.endpoint.messages import decode_request
from proxystore.endpoint.messages import encode_request
from proxystore.endpoint.messages import transportable_error
from proxystore.endpoint.storage import Blob
from proxystore.endpoint.storage import DictStorage
from proxystore.endpoint.storage import Storage
from proxystore.p2p.exceptions import PeerConnectionError
from proxystore.utils.closing import AsyncCloseOnExit
from proxystore.utils.tasks import cancel_and_wait

if TYPE_CHECKING:
    from proxystore.endpoint.peers import DirectPeers
    from proxystore.p2p.manager import PeerManager

logger = logging.getLogger(__name__)

PEER_REQUEST_TIMEOUT = 300.0
"""Seconds to wait for a peer to answer one request."""

CONNECTION_CHECK_INTERVAL = 1.0
"""Seconds between checks that a peer awaited for an answer is connected."""


class _ConnectionLostError(PeerConnectionError):
    """The connection to a peer closed while a request awaited its answer."""


class EndpointMode(enum.Enum):
    """Whether an endpoint forwards requests to peers."""

    PEERING = 1
    SOLO = 2


class Endpoint(AsyncCloseOnExit):
    """A blob store identified by a UUID that can forward to peers.

    Use it as `endpoint = await Endpoint(...)` or `async with
    Endpoint(...) as endpoint:`, which run `async_init()`.

    Args:
        name: Name of the endpoint (ignored with a `peer_manager`, whose
            name is used).
        uuid: UUID of the endpoint (ignored with a `peer_manager`).
        peer_manager: Connections to peer endpoints. Without one the
            endpoint runs in SOLO mode.
        storage: Where blobs live (defaults to `DictStorage()`).
        peer_request_timeout: Seconds to wait for a peer's answer.

    Raises:
        ValueError: If there is no `peer_manager` and `name` or `uuid` is
            missing.
    """

    def __init__(
        self,
        name: str | None = None,
        uuid: uuid_module.UUID | str | None = None,
        *,
        peer_manager: PeerManager | None = None,
        storage: Storage | None = None,
        peer_request_timeout: float = PEER_REQUEST_TIMEOUT,
    ) -> None:
        if peer_manager is None and (name is None or uuid is None):
            raise ValueError(
                'The name and uuid parameters must be provided if a '
                'PeerManager is not provided.',
            )
        self._name = name
        self._uuid = (
            None if uuid is None else uuid_module.UUID(validate_uuid(uuid))
        )
        self._peer_manager = peer_manager
        self._mode = (
            EndpointMode.SOLO if peer_manager is None else EndpointMode.PEERING
        )
        self.storage: Storage = storage or DictStorage()
        self.peer_request_timeout = peer_request_timeout
        self._initialized = False
        self._closed = False
        self._pending: dict[str, asyncio.Future[EndpointRequest]] = {}
        self._peer_tasks: set[asyncio.Task[None]] = set()
        self._listener: asyncio.Task[None] | None = None
        self._direct: DirectPeers | None = None

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(name={self.name!r}, uuid={self.uuid!r}, '
            f'mode={self._mode.name})'
        )

    @property
    def name(self) -> str:
        """Name of the endpoint."""
        if self._peer_manager is not None:
            return self._peer_manager.name
        assert self._name is not None
        return self._name

    @property
    def uuid(self) -> uuid_module.UUID:
        """UUID of the endpoint."""
        if self._peer_manager is not None:
            return self._peer_manager.uuid
        assert self._uuid is not None
        return self._uuid

    @property
    def mode(self) -> EndpointMode:
        """PEERING with a peer manager, else SOLO."""
        return self._mode

    @property
    def peer_manager(self) -> PeerManager | None:
        """The peer manager (`None` in SOLO mode).

        Raises:
            PeeringNotAvailableError: In PEERING mode before
                `async_init()` ran.
        """
        if self._peer_manager is not None and not self._initialized:
            raise PeeringNotAvailableError(
                'Peer manager has not been initialized because '
                'async_init() has not been called. Create the endpoint '
                'with await Endpoint(...) or async with Endpoint(...).',
            )
        return self._peer_manager

    async def async_init(self) -> None:
        """Start peering: initialize the peer manager, serve peers."""
        if self._initialized:
            return
        if self._peer_manager is not None:
            await self._peer_manager.async_init()
            self._listener = asyncio.create_task(
                self._handle_peer_messages(),
                name=f'endpoint-peer-listener-{self.uuid}',
            )
        self._initialized = True
        logger.info(
            'Endpoint %s (%s) initialized in %s mode',
            self.name,
            self.uuid,
            self._mode.name,
        )

    def _is_peer_request(
        self, endpoint: uuid_module.UUID | str | None
    ) -> bool:
        """Whether a request naming `endpoint` goes to a peer.

        Raises:
            InvalidKeyError: If `endpoint` is not a UUID.
        """
        if endpoint is None:
            return False
        peer = validate_uuid(endpoint)
        return self._mode is EndpointMode.PEERING and peer != str(self.uuid)

    async def _request_from_peer(
        self,
        endpoint: uuid_module.UUID | str,
        request: EndpointRequest,
    ) -> Any:
        """Run `request` on peer `endpoint`; return the operation's result.

        The result is what the local operation returns: the object (or
        `None`) for `get`, a bool for `exists`, `None` otherwise. The
        request goes straight to the peer's HTTP server if it announced a
        usable address, else over the peer connection.

        Raises:
            PeerRequestError: If the request cannot be sent or no answer
                comes within `peer_request_timeout`.
            Exception: The error the peer's operation raised.
        """
        manager = self.peer_manager
        assert manager is not None
        peer = uuid_module.UUID(validate_uuid(endpoint))
        done, result = await self._request_direct(manager, peer, request)
        if done:
            return result
        # Every operation is idempotent: if the connection is lost before
        # the answer comes, the request is sent once more (a new
        # connection is made).
        for attempt in range(2):
            try:
                response = await self._send_and_wait(manager, peer, request)
                break
            except _ConnectionLostError as e:
                if attempt == 1:
                    raise PeerRequestError(
                        f'Request to peer {peer} failed: {e}',
                    ) from e
                logger.info(
                    'Connection to peer %s lost during a %s request: '
                    'retrying once',
                    peer,
                    request.op,
                )
        if response.error is not None:
            raise response.error
        if request.op == 'get':
            return response.data
        if request.op == 'exists':
            return bool(response.exists)
        return None

    async def _send_and_wait(
        self,
        manager: PeerManager,
        peer: uuid_module.UUID,
        request: EndpointRequest,
    ) -> EndpointRequest:
        """Send `request` over the peer connection; return the response.

        Raises:
            _ConnectionLostError: If the connection closed before the
                peer answered.
            PeerRequestError: If sending failed, or no answer came within
                `peer_request_timeout`.
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[EndpointRequest] = loop.create_future()
        self._pending[request.uuid] = future
        try:
            await manager.send(peer, encode_request(request))
            return await self._wait_response(manager, peer, future)
        except _ConnectionLostError:
            raise
        except asyncio.TimeoutError as e:
            raise PeerRequestError(
                f'Request to peer {peer} failed: no response within '
                f'{self.peer_request_timeout} seconds.',
            ) from e
        except Exception as e:
            raise PeerRequestError(
                f'Request to peer {peer} failed: {e}',
            ) from e
        finally:
            self._pending.pop(request.uuid, None)

    async def _wait_response(
        self,
        manager: PeerManager,
        peer: uuid_module.UUID,
        future: asyncio.Future[EndpointRequest],
    ) -> EndpointRequest:
        """Wait for a peer's response while the connection to it lasts.

        Raises:
            asyncio.TimeoutError: After `peer_request_timeout` seconds.
            _ConnectionLostError: If the connection to the peer is gone.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.peer_request_timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise asyncio.TimeoutError
            done, _ = await asyncio.wait(
                {future},
                timeout=min(remaining, CONNECTION_CHECK_INTERVAL),
            )
            if done:
                return future.result()
            if not manager.has_connection(peer):
                raise _ConnectionLostError(
                    'the connection to the peer closed before it answered.',
                )

    async def _request_direct(
        self,
        manager: PeerManager,
        peer: uuid_module.UUID,
        request: EndpointRequest,
    ) -> tuple[bool, Any]:
        """Run `request` on the peer's HTTP server if it is reachable.

        Returns `(True, result)`, or `(False, None)` if the peer announced
        no usable HTTP address or using it failed (the request then goes
        over the peer connection).
        """
        address = await manager.peer_http_address(peer)
        if address is None:
            return False, None
        # Imported here: only needed once a peer announces an address.
        from proxystore.endpoint.peers import DirectPathUnavailableError
        from proxystore.endpoint.peers import DirectPeers

        if self._direct is None:
            self._direct = DirectPeers(
                token=manager.http_token,
                timeout=self.peer_request_timeout,
            )
        try:
            result = await self._direct.run(peer, address, request)
        except DirectPathUnavailableError as e:
            manager.direct_path_failed(peer, e)
            return False, None
        received = len(result) if request.op == 'get' and result else 0
        manager.direct_path_used(peer, len(request.data or b''), received)
        return True, result

    def _new_request(
        self,
        op: Any,
        key: str,
        data: bytes | None = None,
    ) -> EndpointRequest:
        return EndpointRequest(
            kind='request',
            op=op,
            uuid=str(uuid_module.uuid4()),
            key=key,
            data=data,
        )

    async def evict(
        self,
        key: str,
        endpoint: uuid_module.UUID | str | None = None,
    ) -> None:
        """Evict the blob for `key` (no-op if missing).

        Args:
            key: Key of the blob.
            endpoint: Endpoint owning the blob (`None`: this one).
        """
        validate_key(key)
        if self._is_peer_request(endpoint):
            assert endpoint is not None
            await self._request_from_peer(
                endpoint,
                self._new_request('evict', key),
            )
        else:
            await self.storage.evict(key)

    async def exists(
        self,
        key: str,
        endpoint: uuid_module.UUID | str | None = None,
    ) -> bool:
        """Check if a blob exists for `key`.

        Args:
            key: Key of the blob.
            endpoint: Endpoint owning the blob (`None`: this one).
        """
        validate_key(key)
        if self._is_peer_request(endpoint):
            assert endpoint is not None
            found: bool = await self._request_from_peer(
                endpoint,
                self._new_request('exists', key),
            )
            return found
        return await self.storage.exists(key)

    async def get(
        self,
        key: str,
        endpoint: uuid_module.UUID | str | None = None,
    ) -> Blob | None:
        """Get the blob for `key`, or `None` if it does not exist.

        Args:
            key: Key of the blob.
            endpoint: Endpoint owning the blob (`None`: this one).
        """
        validate_key(key)
        if self._is_peer_request(endpoint):
            assert endpoint is not None
            blob: Blob | None = await self._request_from_peer(
                endpoint,
                self._new_request('get', key),
            )
            return blob
        return await self.storage.get(key)

    async def set(
        self,
        key: str,
        data: Blob,
        endpoint: uuid_module.UUID | str | None = None,
    ) -> None:
        """Store `data` under `key`.

        Args:
            key: Key of the blob.
            data: Bytes-like blob to store.
            endpoint: Endpoint owning the blob (`None`: this one).

        Raises:
            ObjectSizeExceededError: If the blob is over the storage limit.
        """
        validate_key(key)
        if self._is_peer_request(endpoint):
            assert endpoint is not None
            await self._request_from_peer(
                endpoint,
                self._new_request('set', key, bytes(data)),
            )
        else:
            await self.storage.set(key, data)

    async def _handle_peer_messages(self) -> None:
        """Serve requests from peers and match their responses."""
        manager = self._peer_manager
        assert manager is not None
        while True:
            peer, message = await manager.recv()
            try:
                request = decode_request(message)
            except MessageDecodeError:
                logger.warning('Dropped an undecodable message from %s', peer)
                continue
            if request.kind == 'response':
                future = self._pending.get(request.uuid)
                if future is None or future.done():
                    logger.warning(
                        'Dropped a response from %s to an unknown request %s',
                        peer,
                        request.uuid,
                    )
                else:
                    future.set_result(request)
                continue
            task = asyncio.create_task(self._serve_peer(peer, request))
            self._peer_tasks.add(task)
            task.add_done_callback(self._peer_tasks.discard)

    async def _serve_peer(
        self,
        peer: uuid_module.UUID,
        request: EndpointRequest,
    ) -> None:
        """Run one request from a peer on storage and send the answer."""
        logger.debug(
            'Serving %s request for key %r from peer %s',
            request.op,
            request.key,
            peer,
        )
        data = request.data
        request.kind = 'response'
        request.data = None
        try:
            validate_key(request.key)
            if request.op == 'evict':
                await self.storage.evict(request.key)
            elif request.op == 'exists':
                request.exists = await self.storage.exists(request.key)
            elif request.op == 'get':
                blob = await self.storage.get(request.key)
                request.data = None if blob is None else bytes(blob)
            elif request.op == 'set':
                if data is None:
                    raise ValueError('A set request must carry data.')
                await self.storage.set(request.key, data)
        except Exception as e:
            request.error = transportable_error(e)
        manager = self._peer_manager
        assert manager is not None
        try:
            await manager.send(peer, encode_request(request))
        except Exception as e:
            logger.error('Failed to answer peer %s: %s', peer, e)

    async def close(self) -> None:
        """Stop peering and close the peer manager and storage.

        Calling it again does nothing.
        """
        if self._closed:
            return
        self._closed = True
        tasks = list(self._peer_tasks)
        if self._listener is not None:
            tasks.append(self._listener)
        await cancel_and_wait(tasks)
        for future in self._pending.values():
            if not future.done():
                future.set_exception(
                    PeerRequestError('The endpoint was closed.'),
                )
        if self._direct is not None:
            await self._direct.close()
        if self._peer_manager is not None:
            await self._peer_manager.close()
        await self.storage.close()
