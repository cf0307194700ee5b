"""Errors raised by proxies."""

from __future__ import annotations

from typing import Any


class ProxyResolveError(Exception):
    """The factory of a proxy failed to produce the target.

    Every exception a factory raises is wrapped in a new
    `ProxyResolveError`, also one raised by a nested proxy or the store's
    `ProxyResolveMissingKeyError`; the original is in `.cause` (and
    `__cause__`).

    Args:
        message: What went wrong.
        cause: The exception raised by the factory.
    """

    __module__ = 'proxystore.proxy'
    cause: Exception

    def __init__(self, message: str, cause: Exception) -> None:
        super().__init__(message)
        self.cause = cause
        self.__cause__ = cause

    def __reduce__(self) -> tuple[Any, ...]:
        message = self.args[0] if self.args else ''
        return (type(self), (message, getattr(self, 'cause', None)))
