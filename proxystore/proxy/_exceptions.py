"""Errors raised by proxies."""

from __future__ import annotations


class ProxyResolveError(Exception):
    """The factory of a proxy failed to produce the target.

    Any exception raised by a factory is wrapped in this error, with the
    original exception chained as `__cause__`, unless it already is a
    `ProxyResolveError` (or a subclass), which is re-raised unchanged.
    """

    __module__ = 'proxystore.proxy'
