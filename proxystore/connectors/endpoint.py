"""Connector to ProxyStore endpoints.

The connector finds, among the endpoint UUIDs it is given, the one running
on this host (by reading the endpoint configs in the ProxyStore home
directory and asking each candidate for its UUID) and talks to it over one
keep-alive HTTP session. Keys record which endpoint owns the object, so a
connector on another site, attached to its own local endpoint, resolves the
key through endpoint peering.

Example:
    ```python
    from proxystore.connectors.endpoint import EndpointConnector

    with EndpointConnector(['<uuid of my endpoint>']) as connector:
        key = connector.put(b'data')
        assert connector.get(key) == b'data'
    ```
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

from typing_extensions import Buffer

from proxystore.connectors.protocols import BufferList
from proxystore.connectors.protocols import ConnectorBytes
from proxystore.endpoint import client
from proxystore.endpoint.config import get_configs
from proxystore.endpoint.exceptions import EndpointRequestError
from proxystore.endpoint.session import EndpointSession
from proxystore.utils.closing import CloseOnExit
from proxystore.utils.environment import home_dir

logger = logging.getLogger(__name__)

_PROBE_TIMEOUT = 2.0
"""Seconds to wait for a candidate endpoint to answer while searching."""


class EndpointConnectorError(Exception):
    """An endpoint is unreachable or refused a request (message says why)."""


class EndpointKey(NamedTuple):
    """Key to an object stored on an endpoint.

    Attributes:
        object_id: Unique object ID.
        endpoint_id: UUID of the endpoint the object lives on.
    """

    object_id: str
    endpoint_id: str | None


class EndpointConnector(CloseOnExit):
    """Connector to the local ProxyStore endpoint.

    `put` and `set` also take a list of buffers forming one object (see
    `proxystore.connectors.protocols.accepts_buffer_lists`); the parts are
    streamed to the endpoint back to back without being joined.

    The connector reads the endpoint configs in `proxystore_dir` (default:
    `home_dir()`), and uses the first listed endpoint that has been started
    (its config has a host) and answers `GET /endpoint` with its UUID.
    Unreachable endpoints are skipped. The token and TLS certificate of the
    endpoint's config are used for every request.

    Args:
        endpoints: UUIDs of the endpoints this connector may use.
        proxystore_dir: Folder holding endpoint configs (default: the
            ProxyStore home directory of the process).

    Attributes:
        endpoints: The UUIDs given.
        endpoint_uuid: UUID of the endpoint in use.
        endpoint_host: Its host.
        endpoint_port: Its port.
        address: Its base URL.

    Raises:
        ValueError: If `endpoints` is empty or holds an invalid UUID.
        EndpointConnectorError: If no listed endpoint is reachable here.
    """

    accepts_buffer_lists = True

    def __init__(
        self,
        endpoints: Sequence[str | uuid.UUID],
        proxystore_dir: str | None = None,
    ) -> None:
        if isinstance(endpoints, (str, uuid.UUID)):
            endpoints = [endpoints]
        if len(endpoints) == 0:
            raise ValueError('At least one endpoint must be specified.')
        self.endpoints: list[uuid.UUID] = [
            e if isinstance(e, uuid.UUID) else uuid.UUID(e, version=4)
            for e in endpoints
        ]
        self.proxystore_dir = proxystore_dir
        self._session = self._find_local_endpoint()
        self.address = self._session.address

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(connected to {self.endpoint_uuid} '
            f'@ {self.address})'
        )

    def _find_local_endpoint(self) -> EndpointSession:
        wanted = {str(e) for e in self.endpoints}
        tried = []
        folder = self.proxystore_dir or home_dir()
        for config in get_configs(folder):
            if config.uuid not in wanted:
                continue
            if config.host is None:
                logger.warning(
                    f'Found valid configuration for endpoint "{config.name}" '
                    f'({config.uuid}), but the endpoint has not been '
                    'started.',
                )
                continue
            address = config.local_url()
            session = EndpointSession(
                address,
                token=config.token,
                timeout=_PROBE_TIMEOUT,
                ssl_context=config.client_ssl_context(),
            )
            try:
                found = client.identity(address, session)['uuid']
            except EndpointRequestError as e:
                tried.append(f'{config.name} at {address}: {e}')
                continue
            finally:
                session.close()
            if found == config.uuid:
                self.endpoint_uuid = uuid.UUID(found)
                self.endpoint_host: str | None = config.host
                self.endpoint_port = config.port
                return EndpointSession(
                    address,
                    token=config.token,
                    ssl_context=config.client_ssl_context(),
                )
            tried.append(f'{config.name} at {address} has UUID {found}')
        details = ''.join(f'\n  - {attempt}' for attempt in tried)
        raise EndpointConnectorError(
            'Failed to find an endpoint configuration matching one of the '
            f'provided endpoint UUIDs ({", ".join(sorted(wanted))}) that is '
            f'running on this host (configs read from {folder}).{details}',
        )

    def close(self) -> None:
        """Close the connector's HTTP connections."""
        self._session.close()

    def config(self) -> dict[str, Any]:
        """Get the configuration needed to rebuild this connector."""
        return {
            'endpoints': [str(e) for e in self.endpoints],
            'proxystore_dir': self.proxystore_dir,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> EndpointConnector:
        """Create a new connector from a `config()` dictionary."""
        return cls(**config)

    def _call(self, operation: str, function: Any, *args: Any) -> Any:
        try:
            return function(self.address, *args, session=self._session)
        except EndpointRequestError as e:
            if e.status is None:
                raise EndpointConnectorError(
                    f'{operation} failed: endpoint {self.endpoint_uuid} at '
                    f'{self.address}: {e}',
                ) from e
            raise EndpointConnectorError(
                f'{operation} failed with error code {e.status}. {e}',
            ) from e

    def evict(self, key: EndpointKey) -> None:
        """Evict the object for `key` (no-op if missing)."""
        self._call('Evict', client.evict, key.object_id, key.endpoint_id)

    def exists(self, key: EndpointKey) -> bool:
        """Check if an object exists for `key`."""
        found: bool = self._call(
            'Exists', client.exists, key.object_id, key.endpoint_id
        )
        return found

    def get(self, key: EndpointKey) -> ConnectorBytes | None:
        """Get the serialized object for `key` (`None` if missing).

        Large objects come back as a writable buffer the caller owns.
        """
        blob: ConnectorBytes | None = self._call(
            'Get',
            client.get,
            key.object_id,
            key.endpoint_id,
        )
        return blob

    def get_batch(
        self,
        keys: Sequence[EndpointKey],
    ) -> list[ConnectorBytes | None]:
        """Get the serialized objects for `keys`, in order."""
        return [self.get(key) for key in keys]

    def new_key(self, obj: Buffer | None = None) -> EndpointKey:
        """Create a key on the local endpoint (`obj` is ignored)."""
        return EndpointKey(str(uuid.uuid4()), str(self.endpoint_uuid))

    def put(self, obj: Buffer | BufferList) -> EndpointKey:
        """Store a serialized object on the local endpoint."""
        key = self.new_key()
        self.set(key, obj)
        return key

    def put_batch(
        self,
        objs: Iterable[Buffer | BufferList],
    ) -> list[EndpointKey]:
        """Store serialized objects; keys keep the order of `objs`."""
        return [self.put(obj) for obj in objs]

    def set(self, key: EndpointKey, obj: Buffer | BufferList) -> None:
        """Store `obj` under `key` (on the endpoint the key names)."""
        self._call('Put', client.put, key.object_id, obj, key.endpoint_id)
