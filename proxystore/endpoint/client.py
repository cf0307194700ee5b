"""Blocking client for the endpoint HTTP API.

Every function takes the endpoint's base URL (`address`, e.g.
`http://127.0.0.1:8765`), the object `key`, the UUID of the endpoint that
owns the object (`endpoint`; `None` = the endpoint at `address`), and an
optional `session`: our keep-alive `EndpointSession` (fastest), or a
`requests.Session` as with upstream's client. Without a session a one-off
connection is used. `token` is the bearer token, sent when the session
does not carry its own.

Errors: an error answer raises a subclass of `EndpointRequestError`, which
is also a `requests.exceptions.RequestException` whose
`.response.status_code` is the HTTP status; an unreachable endpoint raises
`EndpointConnectionError`, also a `requests.exceptions.ConnectionError`.

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
import uuid
from collections.abc import Generator
from typing import Any
from typing import cast

import requests
from requests.exceptions import RequestException

from proxystore.endpoint.constants import MAX_CHUNK_LENGTH
from proxystore.endpoint.exceptions import EndpointAuthenticationError
from proxystore.endpoint.exceptions import EndpointBadRequestError
from proxystore.endpoint.exceptions import EndpointObjectSizeError
from proxystore.endpoint.exceptions import EndpointPeerError
from proxystore.endpoint.exceptions import EndpointRequestError
from proxystore.endpoint.session import Body
from proxystore.endpoint.session import BodyParts
from proxystore.endpoint.session import EndpointSession

__all__ = [
    'MAX_CHUNK_LENGTH',
    'RequestException',
    'check_status',
    'evict',
    'exists',
    'get',
    'identity',
    'is_healthy',
    'put',
]

Session = EndpointSession | requests.Session
"""Sessions the client functions accept."""

_STATUS_ERRORS: dict[int, type[EndpointRequestError]] = {
    400: EndpointBadRequestError,
    401: EndpointAuthenticationError,
    413: EndpointObjectSizeError,
    502: EndpointPeerError,
}
_NO_PROXIES = {'http': '', 'https': ''}


def check_status(status: int, body: Body, response: Any = None) -> None:
    """Raise the error matching a failed (non-2xx) response's status.

    The message is `Endpoint returned HTTP error code <status>. <body>`.

    Raises:
        EndpointBadRequestError: 400.
        EndpointAuthenticationError: 401.
        EndpointObjectSizeError: 413.
        EndpointPeerError: 502.
        EndpointRequestError: Any other non-2xx status.
    """
    if 200 <= status < 300:
        return
    text = bytes(body).decode(errors='replace')
    error = _STATUS_ERRORS.get(status, EndpointRequestError)
    raise error(
        f'Endpoint returned HTTP error code {status}. {text}',
        status,
        response=response,
    )


def _endpoint_str(endpoint: uuid.UUID | str | None) -> str | None:
    return None if endpoint is None else str(endpoint)


def _path(route: str, key: str, endpoint: uuid.UUID | str | None) -> str:
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


def _requests_call(
    session: requests.Session,
    method: str,
    address: str,
    route: str,
    key: str,
    endpoint: uuid.UUID | str | None,
    token: str | None,
    **kwargs: Any,
) -> requests.Response:
    headers = kwargs.pop('headers', {})
    if token is not None:
        headers['Authorization'] = f'Bearer {token}'
    send = session.get if method == 'GET' else session.post
    return send(
        f'{address.rstrip("/")}/{route}',
        params={'key': key, 'endpoint': _endpoint_str(endpoint)},
        proxies=_NO_PROXIES,
        headers=headers,
        **kwargs,
    )


def _check_requests(response: requests.Response) -> None:
    check_status(response.status_code, response.content, response)


def _chunks(data: Body | BodyParts) -> Generator[bytes, None, None]:
    """Yield `data` in pieces of at most `MAX_CHUNK_LENGTH` bytes."""
    try:
        parts = [memoryview(data).cast('B')]  # type: ignore[arg-type]
    except TypeError:
        parts = [memoryview(part).cast('B') for part in cast(BodyParts, data)]
    for part in parts:
        for start in range(0, part.nbytes, MAX_CHUNK_LENGTH):
            yield bytes(part[start : start + MAX_CHUNK_LENGTH])


def evict(
    address: str,
    key: str,
    endpoint: uuid.UUID | str | None = None,
    session: Session | None = None,
    *,
    token: str | None = None,
) -> None:
    """Evict the object for `key` (no-op if missing)."""
    if isinstance(session, requests.Session):
        _check_requests(
            _requests_call(
                session, 'POST', address, 'evict', key, endpoint, token
            ),
        )
        return
    path = _path('evict', key, endpoint)
    check_status(*_send(address, session, token, 'POST', path))


def exists(
    address: str,
    key: str,
    endpoint: uuid.UUID | str | None = None,
    session: Session | None = None,
    *,
    token: str | None = None,
) -> bool:
    """Check if an object exists for `key`."""
    if isinstance(session, requests.Session):
        response = _requests_call(
            session, 'GET', address, 'exists', key, endpoint, token
        )
        _check_requests(response)
        found: bool = response.json()['exists']
        return found
    path = _path('exists', key, endpoint)
    status, body = _send(address, session, token, 'GET', path)
    check_status(status, body)
    found = json.loads(bytes(body))['exists']
    return found


def get(
    address: str,
    key: str,
    endpoint: uuid.UUID | str | None = None,
    session: Session | None = None,
    *,
    token: str | None = None,
) -> Body | None:
    """Get the object for `key`, or `None` if it does not exist.

    Objects over 64 KiB are returned as a writable buffer owned by the
    caller (`bytearray`, or a `memoryview` from 1 MiB).
    """
    if isinstance(session, requests.Session):
        response = _requests_call(
            session, 'GET', address, 'get', key, endpoint, token, stream=True
        )
        if response.status_code == 404:
            response.close()
            return None
        _check_requests(response)
        data = bytearray()
        for chunk in response.iter_content(chunk_size=None):
            data += chunk
        return bytes(data)
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
    endpoint: uuid.UUID | str | None = None,
    session: Session | None = None,
    *,
    token: str | None = None,
) -> None:
    """Store `data` under `key`.

    `data` is any contiguous bytes-like object, or a sequence of them that
    together form the object (sent back to back, never joined). With a
    `requests.Session` the body is sent chunked, in pieces of
    `MAX_CHUNK_LENGTH`, as upstream's client does.

    Raises:
        EndpointObjectSizeError: If `data` is over the endpoint's limit.
    """
    if isinstance(session, requests.Session):
        _check_requests(
            _requests_call(
                session,
                'POST',
                address,
                'set',
                key,
                endpoint,
                token,
                data=_chunks(data),
                headers={'Content-Type': 'application/octet-stream'},
            ),
        )
        return
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


def is_healthy(
    address: str,
    *,
    timeout: float = 1.0,
    session: EndpointSession | None = None,
) -> bool:
    """Return whether an endpoint answers its health check at `address`."""
    try:
        if session is not None:
            status, _ = session.request('GET', '/')
        else:
            with EndpointSession(address, timeout=timeout) as one_off:
                status, _ = one_off.request('GET', '/')
    except EndpointRequestError:
        return False
    return status == 200
