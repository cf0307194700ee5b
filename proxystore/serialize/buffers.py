"""Buffer helpers, kept here for existing imports.

The helpers live in [`proxystore.utils.buffers`][proxystore.utils.buffers]
(connectors and endpoints use them without depending on serialization);
this module re-exports them under their old path.
"""

from __future__ import annotations

from proxystore.utils.buffers import LARGE_BUFFER
from proxystore.utils.buffers import BytesLike
from proxystore.utils.buffers import allocate
from proxystore.utils.buffers import byte_view
from proxystore.utils.buffers import byte_views
from proxystore.utils.buffers import is_bytes_like
from proxystore.utils.buffers import join
from proxystore.utils.buffers import writable_copy

__all__ = [
    'LARGE_BUFFER',
    'BytesLike',
    'allocate',
    'byte_view',
    'byte_views',
    'is_bytes_like',
    'join',
    'writable_copy',
]
