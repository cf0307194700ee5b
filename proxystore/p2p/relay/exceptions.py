"""Errors raised by the relay client and the relay server."""

from __future__ import annotations


class RelayClientError(Exception):
    """Base class for errors raised by a relay client."""


class RelayNotConnectedError(RelayClientError):
    """The client's websocket to the relay is not open."""


class RelayRegistrationError(RelayClientError):
    """The relay refused or did not acknowledge the client's registration."""


class RelayServerError(Exception):
    """Base class for errors a relay server reports to its clients."""


class BadRequestError(RelayServerError):
    """A client sent a message the relay cannot act on."""


class ForbiddenError(RelayServerError):
    """The client is known but not allowed to do this (close code 4002)."""


class InternalServerError(RelayServerError):
    """The relay failed while handling a message."""


class UnauthorizedError(RelayServerError):
    """The client did not present valid credentials (close code 4001)."""
