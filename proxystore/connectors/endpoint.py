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

import uuid
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

from typing_extensions import Buffer

from proxystore.connectors.protocols import BufferList
from proxystore.connectors.protocols import ConnectorBytes
from proxystore.endpoint import client
from proxystore.endpoint.config import default_proxystore_dir
from proxystore.endpoint.config import get_configs
from proxystore.endpoint.exceptions import EndpointError
from proxystore.endpoint.exceptions import InvalidKeyError
from proxystore.endpoint.keys import validate_uuid
from proxystore.endpoint.session import EndpointSession
from proxystore.utils.closing import CloseOnExit

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

    Args:
        endpoints: UUIDs of the endpoints this connector may use; the first
            one configured and running on this host is chosen.
        proxystore_dir: Folder holding endpoint configs (default: the
            ProxyStore home directory of the process).

    Raises:
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
            raise ValueError('EndpointConnector needs at least one endpoint.')
        try:
            self.endpoints = [validate_uuid(e) for e in endpoints]
        except InvalidKeyError as e:
            raise ValueError(str(e)) from None
        self.proxystore_dir = proxystore_dir
        self.endpoint_uuid, self._session = self._find_local_endpoint()
        self.address = self._session.address

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(endpoint={self.endpoint_uuid!r}, '
            f'address={self.address!r})'
        )

    def _find_local_endpoint(self) -> tuple[str, EndpointSession]:
        wanted = set(self.endpoints)
        tried = []
        for config in get_configs(self.proxystore_dir):
            if config.uuid not in wanted:
                continue
            address = config.local_url()
            session = EndpointSession(
                address,
                token=config.token,
                timeout=_PROBE_TIMEOUT,
            )
            try:
                found = client.identity(address, session)['uuid']
            except EndpointError as e:
                session.close()
                tried.append(f'{config.name} at {address}: {e}')
                continue
            session.close()
            if found == config.uuid:
                return found, EndpointSession(address, token=config.token)
            tried.append(f'{config.name} at {address} has UUID {found}')
        folder = self.proxystore_dir or default_proxystore_dir()
        details = ''.join(f'\n  - {attempt}' for attempt in tried)
        raise EndpointConnectorError(
            f'None of the endpoints {self.endpoints} is running on this '
            f'host (configs read from {folder}).{details}',
        )

    def close(self) -> None:
        """Close the connector's HTTP connections."""
        self._session.close()

    def config(self) -> dict[str, Any]:
        """Get the configuration needed to rebuild this connector."""
        return {
            'endpoints': list(self.endpoints),
            'proxystore_dir': self.proxystore_dir,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> EndpointConnector:
        """Create a new connector from a `config()` dictionary."""
        return cls(**config)

    def _call(self, function: Any, *args: Any) -> Any:
        try:
            return function(self.address, *args, session=self._session)
        except EndpointError as e:
            raise EndpointConnectorError(
                f'Endpoint {self.endpoint_uuid} at {self.address}: {e}',
            ) from e

    def evict(self, key: EndpointKey) -> None:
        """Evict the object for `key` (no-op if missing)."""
        self._call(client.evict, key.object_id, key.endpoint_id)

    def exists(self, key: EndpointKey) -> bool:
        """Check if an object exists for `key`."""
        found: bool = self._call(client.exists, key.object_id, key.endpoint_id)
        return found

    def get(self, key: EndpointKey) -> ConnectorBytes | None:
        """Get the serialized object for `key` (`None` if missing).

        Large objects come back as a writable buffer the caller owns.
        """
        blob: ConnectorBytes | None = self._call(
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
        return EndpointKey(str(uuid.uuid4()), self.endpoint_uuid)

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
        self._call(client.put, key.object_id, obj, key.endpoint_id)
