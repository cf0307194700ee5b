"""Errors raised by peer-to-peer connections."""

from __future__ import annotations


class PeerConnectionError(Exception):
    """A peer connection could not be made or failed."""


class PeerConnectionTimeoutError(PeerConnectionError):
    """A peer connection was not ready within its timeout."""
