"""ProxyStore: wide-area object references for distributed Python.

A producer puts an object in a storage medium and hands out a small,
picklable proxy; whoever uses the proxy gets the object fetched and
deserialized just in time.
"""

from __future__ import annotations

import importlib.metadata

try:
    __version__ = importlib.metadata.version('proxystore')
    """Version of the installed `proxystore` distribution."""
except importlib.metadata.PackageNotFoundError:  # pragma: no cover
    __version__ = '0+unknown'
