"""ProxyStore: wide-area object references for distributed Python.

A producer puts an object in a storage medium and hands out a small,
picklable proxy; whoever uses the proxy gets the object fetched and
deserialized just in time.
"""

from __future__ import annotations

__version__ = '0.1.0'
