"""Errors raised by endpoints, their storage, and their clients.

The four upstream names (`FileDumpNotAvailableError`,
`ObjectSizeExceededError`, `PeeringNotAvailableError`, `PeerRequestError`)
keep their module path: peers send these exceptions to each other inside
`EndpointRequest.error`.

Errors the HTTP client raises for an endpoint's answer derive from
`EndpointRequestError`, which is also a
`requests.exceptions.RequestException` with `.response.status_code`, so
code written against the upstream client catches them too.
"""

from __future__ import annotations

import dataclasses

from requests.exceptions import ConnectionError as RequestsConnectionError
from requests.exceptions import RequestException


class EndpointError(Exception):
    """Base class for endpoint errors."""


class FileDumpNotAvailableError(Exception):
    """Reserved: dumping blobs to a file is not available."""


class ObjectSizeExceededError(EndpointError, ValueError):
    """A blob is larger than the endpoint's `max_object_size`."""


class PeeringNotAvailableError(Exception):
    """Peering was asked for before the endpoint's `async_init()` ran."""


class PeerRequestError(Exception):
    """A request to a peer endpoint failed."""


class MalformedRequestError(EndpointError, ValueError):
    """A request is missing parameters or has a malformed body."""


class InvalidKeyError(MalformedRequestError):
    """A key or endpoint UUID string is malformed."""


class PeerUnavailableError(EndpointError):
    """A request names a peer endpoint that cannot be reached."""


@dataclasses.dataclass
class ErrorResponse:
    """What a client error knows about the endpoint's answer.

    Attributes:
        status_code: HTTP status code.
        text: Response body as text.
    """

    status_code: int
    text: str = ''

    @property
    def ok(self) -> bool:
        """Whether the status is below 400 (as `requests.Response.ok`)."""
        return self.status_code < 400


class EndpointRequestError(EndpointError, RequestException):
    """The endpoint answered a request with an error (or not at all).

    Args:
        message: What went wrong.
        status: HTTP status of the answer (`None` if there was none).
        response: The answer (a `requests.Response` or an
            `ErrorResponse`); built from `status` if not given.
    """

    def __init__(
        self,
        message: str,
        status: int | None = None,
        *,
        response: object | None = None,
    ) -> None:
        if response is None and status is not None:
            response = ErrorResponse(status, message)
        super().__init__(message)
        # An `ErrorResponse` stands in for `requests.Response` here.
        self.response = response  # type: ignore[assignment]
        self.status = status


class EndpointConnectionError(EndpointRequestError, RequestsConnectionError):
    """The endpoint cannot be reached (connection refused, reset, ...)."""


class EndpointAuthenticationError(EndpointRequestError):
    """The endpoint refused the request's bearer token (HTTP 401)."""


class EndpointBadRequestError(EndpointRequestError, MalformedRequestError):
    """The endpoint refused a malformed request (HTTP 400)."""


class EndpointObjectSizeError(EndpointRequestError, ObjectSizeExceededError):
    """The endpoint refused a blob over its size limit (HTTP 413)."""


class EndpointPeerError(EndpointRequestError, PeerUnavailableError):
    """The endpoint could not reach the peer a request named (HTTP 502)."""
