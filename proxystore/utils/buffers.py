"""Bytes-like objects: views of them, and large buffers cheap to create.

`BytesLike` and `is_bytes_like` name what ProxyStore accepts as serialized
data (`bytes`, `bytearray`, `memoryview`, and on Python 3.12+ any object
with the buffer protocol and a length).

A fresh multi-megabyte `bytes` or `bytearray` costs several times a
`memcpy` in page faults alone. Large buffers are therefore placed in
private anonymous memory mappings advised to use huge pages (as NumPy does
for its own arrays), which brings one copy close to `memcpy` speed.
"""

from __future__ import annotations

import mmap
import sys
from collections.abc import Sequence
from typing import Any
from typing import TypeGuard

from typing_extensions import Buffer

if sys.version_info >= (3, 12):  # pragma: >=3.12 cover
    from collections.abc import Buffer as _AbcBuffer
    from collections.abc import Sized
    from typing import Protocol
    from typing import runtime_checkable

    @runtime_checkable
    class BytesLike(_AbcBuffer, Sized, Protocol):
        """An object with the buffer protocol and a length."""

    def is_bytes_like(obj: Any) -> TypeGuard[BytesLike]:
        """Check whether `obj` is bytes-like (see `BytesLike`)."""
        return isinstance(obj, BytesLike)

else:  # pragma: <3.12 cover
    from typing import TypeAlias

    BytesLike: TypeAlias = bytes | bytearray | memoryview
    """`bytes`, `bytearray` or `memoryview`."""

    def is_bytes_like(obj: Any) -> TypeGuard[BytesLike]:
        """Check whether `obj` is a `bytes`, `bytearray` or `memoryview`."""
        return isinstance(obj, (bytes, bytearray, memoryview))


LARGE_BUFFER = 1 << 20
"""Buffers at least this many bytes get their own memory mapping."""


def byte_view(obj: Buffer) -> memoryview:
    """View a bytes-like object as flat unsigned bytes.

    Non-contiguous buffers are copied into contiguous bytes.

    Raises:
        TypeError: If `obj` is not bytes-like.
    """
    try:
        view = memoryview(obj)
    except TypeError:
        raise TypeError(
            'Expected a bytes-like object (bytes, bytearray, memoryview, '
            f'...), not {type(obj).__name__}.',
        ) from None
    if not view.c_contiguous:
        return memoryview(view.tobytes())
    if view.format == 'B' and view.ndim == 1:
        return view
    return view.cast('B')


def byte_views(obj: Buffer | Sequence[Buffer]) -> list[memoryview]:
    """View a bytes-like object, or a list/tuple of them, as byte views.

    Raises:
        TypeError: If `obj` (or an element of it) is not bytes-like.
    """
    if isinstance(obj, (list, tuple)):
        return [byte_view(part) for part in obj]
    return [byte_view(obj)]  # type: ignore[arg-type]


def _mapping(nbytes: int) -> mmap.mmap:
    # MAP_PRIVATE: shared anonymous memory is shmem, which is not backed by
    # transparent huge pages on most systems.
    region = mmap.mmap(
        -1,
        nbytes,
        flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS,
    )
    if hasattr(mmap, 'MADV_HUGEPAGE'):
        region.madvise(mmap.MADV_HUGEPAGE)
    return region


def allocate(nbytes: int) -> bytearray | memoryview:
    """Allocate a zero-filled, writable buffer of `nbytes` bytes.

    Returns:
        A `bytearray` for small sizes, else a writable `memoryview` over a
        private memory mapping that lives as long as the view (or any
        object built on it) does.
    """
    if nbytes < LARGE_BUFFER:
        return bytearray(nbytes)
    return memoryview(_mapping(nbytes))


def writable_copy(data: Buffer) -> bytearray | memoryview:
    """Return a writable copy of `data` made with `allocate`."""
    view = byte_view(data)
    target = allocate(view.nbytes)
    target[:] = view
    return target


def join(parts: Sequence[Buffer]) -> bytes | memoryview:
    """Concatenate buffers into one immutable payload with a single copy.

    Returns:
        `bytes` for small payloads, else a read-only `memoryview` over a
        private memory mapping that nothing else can write to.
    """
    views = [byte_view(part) for part in parts]
    total = sum(view.nbytes for view in views)
    if total < LARGE_BUFFER:
        return b''.join(views)
    region = _mapping(total)
    for view in views:
        region.write(view)
    return memoryview(region).toreadonly()
