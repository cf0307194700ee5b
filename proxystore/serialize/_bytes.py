"""Build large `bytes` objects at `memcpy` speed.

`b''.join` of tens of megabytes costs four to five times a `memcpy`: the
new object's memory is a fresh mapping, and every 4 KiB page of it faults
while it is filled. On CPython under Linux the object is instead created
uninitialised, its pages are advised to be huge pages (as NumPy does for
its arrays), and only then filled. The object is complete before any other
code can see it, so it is an ordinary immutable `bytes`.

`join_bytes` joins buffers this way; `filled_bytes` lets a caller fill the
new object itself (e.g. `readinto` from a file, with no staging copy).
"""

from __future__ import annotations

import ctypes
import mmap
import sys
from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

from typing_extensions import Buffer

from proxystore.serialize._frame import byte_nbytes
from proxystore.utils.buffers import LARGE_BUFFER
from proxystore.utils.buffers import byte_view

_PAGE = mmap.PAGESIZE
# Offset of the character data in a CPython bytes object.
_DATA_OFFSET = bytes.__basicsize__ - 1


def _load() -> tuple[Any, Any] | None:
    if sys.implementation.name != 'cpython' or not hasattr(
        mmap,
        'MADV_HUGEPAGE',
    ):
        return None  # pragma: no cover
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        madvise = libc.madvise
    except (OSError, AttributeError):  # pragma: no cover
        return None
    madvise.restype = ctypes.c_int
    madvise.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
    new = ctypes.pythonapi.PyBytes_FromStringAndSize
    new.restype = ctypes.py_object
    new.argtypes = (ctypes.c_void_p, ctypes.c_ssize_t)
    return new, madvise


_NATIVE = _load()


def join_bytes(parts: Sequence[Buffer]) -> bytes:
    """Concatenate bytes-like objects into one new `bytes` object.

    Raises:
        TypeError: If a part is not bytes-like.
    """
    total = 0
    for part in parts:
        total += len(part) if type(part) is bytes else byte_nbytes(part)
    if total < LARGE_BUFFER or _NATIVE is None:
        return b''.join(parts)
    views = [byte_view(part) for part in parts]

    def fill(data: memoryview) -> None:
        offset = 0
        for view in views:
            data[offset : offset + view.nbytes] = view
            offset += view.nbytes

    return _filled(total, fill)


def filled_bytes(
    nbytes: int,
    fill: Callable[[memoryview], object],
) -> bytes | None:
    """A new `bytes` object of `nbytes` bytes written in place by `fill`.

    `fill` gets a writable byte view of the new object's memory (its
    content is undefined) and must write every byte of it. The view is
    released when `fill` returns, before any other code can see the
    object, so the result is an ordinary immutable `bytes` filled with a
    single pass over its memory (no copy from a staging buffer).

    Returns:
        The object, or `None` where objects cannot be built this way (not
        CPython on Linux); the caller then builds the `bytes` its usual
        way.

    Raises:
        Exception: Whatever `fill` raises; the unfinished object is
            dropped, never returned.
    """
    if _NATIVE is None:
        return None
    return _filled(nbytes, fill)


def _filled(nbytes: int, fill: Callable[[memoryview], object]) -> bytes:
    assert _NATIVE is not None
    new, madvise = _NATIVE
    result: bytes = new(None, nbytes)
    address = id(result) + _DATA_OFFSET
    start = -address % _PAGE + address
    end = (address + nbytes) // _PAGE * _PAGE
    if end > start:
        madvise(start, end - start, mmap.MADV_HUGEPAGE)
    target = memoryview((ctypes.c_char * nbytes).from_address(address))
    try:
        with target.cast('B') as data:
            fill(data)
    except BaseException:
        # Not even a traceback may keep the unfinished object alive.
        del result
        raise
    finally:
        target.release()
    return result
