"""Blocking client for the endpoint HTTP API.

Every function takes the endpoint's base URL (`address`, e.g.
`http://127.0.0.1:8765`), the object `key`, the UUID of the endpoint that
owns the object (`endpoint`; `None` = the endpoint at `address`), an
optional keep-alive `EndpointSession` to `address` (a one-off connection is
used without one), and an optional bearer `token` (used only without a
session; a session carries its own).

Example:
    ```python
    from proxystore.endpoint import client
    from proxystore.endpoint.session import EndpointSession

    with EndpointSession('http://127.0.0.1:8765') as session:
        client.put(session.address, 'my-key', b'data', session=session)
        assert client.get(session.address, 'my-key', session=session)
    ```
"""

from __future__ import annotations

import json
import urllib.parse

from proxystore.endpoint.exceptions import EndpointAuthenticationError
from proxystore.endpoint.exceptions import EndpointRequestError
from proxystore.endpoint.exceptions import MalformedRequestError
from proxystore.endpoint.exceptions import ObjectSizeExceededError
from proxystore.endpoint.exceptions import PeerUnavailableError
from proxystore.endpoint.session import Body
from proxystore.endpoint.session import BodyParts
from proxystore.endpoint.session import EndpointSession

_STATUS_ERRORS: dict[int, type[Exception]] = {
    400: MalformedRequestError,
    401: EndpointAuthenticationError,
    413: ObjectSizeExceededError,
    502: PeerUnavailableError,
}


def check_status(status: int, body: Body) -> None:
    """Raise the error matching a failed response's status.

    Raises:
        MalformedRequestError: 400.
        EndpointAuthenticationError: 401.
        ObjectSizeExceededError: 413.
        PeerUnavailableError: 502.
        EndpointRequestError: Any other non-200 status.
    """
    if status == 200:
        return
    text = bytes(body).decode(errors='replace')
    error = _STATUS_ERRORS.get(status)
    if error is not None:
        raise error(text)
    raise EndpointRequestError(
        f'Endpoint answered {status}: {text}',
        status=status,
    )


def _path(route: str, key: str, endpoint: str | None) -> str:
    path = f'/{route}?key={urllib.parse.quote(key, safe="")}'
    if endpoint is not None:
        path += f'&endpoint={urllib.parse.quote(str(endpoint), safe="")}'
    return path


def _send(
    address: str,
    session: EndpointSession | None,
    token: str | None,
    method: str,
    path: str,
    body: Body | BodyParts | None = None,
) -> tuple[int, Body]:
    if session is not None:
        return session.request(method, path, body)
    with EndpointSession(address, token=token) as one_off:
        return one_off.request(method, path, body)


def evict(
    address: str,
    key: str,
    endpoint: str | None = None,
    session: EndpointSession | None = None,
    *,
    token: str | None = None,
) -> None:
    """Evict the object for `key` (no-op if missing)."""
    path = _path('evict', key, endpoint)
    check_status(*_send(address, session, token, 'POST', path))


def exists(
    address: str,
    key: str,
    endpoint: str | None = None,
    session: EndpointSession | None = None,
    *,
    token: str | None = None,
) -> bool:
    """Check if an object exists for `key`."""
    path = _path('exists', key, endpoint)
    status, body = _send(address, session, token, 'GET', path)
    check_status(status, body)
    found: bool = json.loads(bytes(body))['exists']
    return found


def get(
    address: str,
    key: str,
    endpoint: str | None = None,
    session: EndpointSession | None = None,
    *,
    token: str | None = None,
) -> Body | None:
    """Get the object for `key`, or `None` if it does not exist.

    Objects over 64 KiB are returned as a writable buffer owned by the
    caller (`bytearray`, or a `memoryview` from 1 MiB).
    """
    path = _path('get', key, endpoint)
    status, body = _send(address, session, token, 'GET', path)
    if status == 404:
        return None
    check_status(status, body)
    return body


def put(
    address: str,
    key: str,
    data: Body | BodyParts,
    endpoint: str | None = None,
    session: EndpointSession | None = None,
    *,
    token: str | None = None,
) -> None:
    """Store `data` under `key`.

    `data` is any contiguous bytes-like object, or a sequence of them that
    together form the object (sent back to back, never joined).

    Raises:
        ObjectSizeExceededError: If `data` is over the endpoint's limit.
    """
    path = _path('set', key, endpoint)
    check_status(*_send(address, session, token, 'POST', path, data))


def identity(
    address: str,
    session: EndpointSession | None = None,
    *,
    token: str | None = None,
) -> dict[str, str]:
    """Return the `{'uuid': ..., 'name': ...}` of the endpoint at `address`."""
    status, body = _send(address, session, token, 'GET', '/endpoint')
    check_status(status, body)
    result: dict[str, str] = json.loads(bytes(body))
    return result


def is_healthy(address: str, *, timeout: float = 1.0) -> bool:
    """Return whether an endpoint answers its health check at `address`."""
    try:
        with EndpointSession(address, timeout=timeout) as session:
            status, _ = session.request('GET', '/')
    except EndpointRequestError:
        return False
    return status == 200
