"""Lazy, transparent object proxies.

A [`Proxy`][proxystore.proxy.Proxy] wraps a factory; the first operation that
needs the target calls the factory and from then on the proxy behaves like
the target. Pickling a proxy pickles only its factory.

Two identical implementations exist: a C core (built by `pip install` when
a C compiler is available) and a pure-Python fallback.
`IMPLEMENTATION` says which one is in use (`'c'` or `'python'`); setting
`PROXYSTORE_PURE_PYTHON=1` before the import selects the Python one.
"""

from __future__ import annotations

from proxystore.proxy._backend import IMPLEMENTATION
from proxystore.proxy._exceptions import ProxyResolveError
from proxystore.proxy._functions import extract
from proxystore.proxy._functions import get_factory
from proxystore.proxy._functions import is_resolved
from proxystore.proxy._functions import resolve
from proxystore.proxy._locker import ProxyLocker
from proxystore.proxy._meta import ProxyMetaType
from proxystore.proxy._meta import as_metaclass
from proxystore.proxy._proxy import DefaultClassType
from proxystore.proxy._proxy import DefaultHashType
from proxystore.proxy._proxy import FactoryType
from proxystore.proxy._proxy import Proxy
from proxystore.proxy._proxy import ProxyOr

__all__ = [
    'IMPLEMENTATION',
    'DefaultClassType',
    'DefaultHashType',
    'FactoryType',
    'Proxy',
    'ProxyLocker',
    'ProxyMetaType',
    'ProxyOr',
    'ProxyResolveError',
    'as_metaclass',
    'extract',
    'get_factory',
    'is_resolved',
    'resolve',
]
