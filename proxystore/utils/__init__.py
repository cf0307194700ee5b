"""Small utilities shared across ProxyStore.

The most used helpers are importable from here:
`bytes_to_readable`, `chunk_bytes`, `readable_to_bytes`
([`proxystore.utils.data`][proxystore.utils.data]), `home_dir`, `hostname`
([`proxystore.utils.environment`][proxystore.utils.environment]),
`get_object_path` and `import_from_path`
([`proxystore.utils.imports`][proxystore.utils.imports]).
"""

from __future__ import annotations

from proxystore.utils.data import bytes_to_readable
from proxystore.utils.data import chunk_bytes
from proxystore.utils.data import readable_to_bytes
from proxystore.utils.environment import home_dir
from proxystore.utils.environment import hostname
from proxystore.utils.imports import get_object_path
from proxystore.utils.imports import import_from_path

__all__ = [
    'bytes_to_readable',
    'chunk_bytes',
    'get_object_path',
    'home_dir',
    'hostname',
    'import_from_path',
    'readable_to_bytes',
]
