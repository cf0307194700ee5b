"""Lazy, transparent object proxies.

A [`Proxy`][proxystore.proxy.Proxy] wraps a factory; the first operation that
needs the target calls the factory and from then on the proxy behaves like
the target. Pickling a proxy pickles only its factory.
"""

from __future__ import annotations

from proxystore.proxy._exceptions import ProxyResolveError
from proxystore.proxy._functions import extract
from proxystore.proxy._functions import get_factory
from proxystore.proxy._functions import is_resolved
from proxystore.proxy._functions import resolve
from proxystore.proxy._locker import ProxyLocker
from proxystore.proxy._proxy import Proxy
from proxystore.proxy._proxy import ProxyOr

__all__ = [
    'Proxy',
    'ProxyLocker',
    'ProxyOr',
    'ProxyResolveError',
    'extract',
    'get_factory',
    'is_resolved',
    'resolve',
]
