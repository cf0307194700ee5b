"""Errors raised by endpoints, their storage, and their clients."""

from __future__ import annotations


class EndpointError(Exception):
    """Base class for endpoint errors."""


class ObjectSizeExceededError(EndpointError, ValueError):
    """A blob is larger than the endpoint's `max_object_size`."""


class MalformedRequestError(EndpointError, ValueError):
    """A request is missing parameters or has a malformed body."""


class InvalidKeyError(MalformedRequestError):
    """A key or endpoint UUID string is malformed."""


class PeerUnavailableError(EndpointError):
    """A request names a peer endpoint that cannot be reached."""


class EndpointAuthenticationError(EndpointError):
    """The endpoint refused the request's bearer token (HTTP 401)."""


class EndpointRequestError(EndpointError):
    """The endpoint answered a request with an unexpected status."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
