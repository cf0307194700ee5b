"""Shared-memory connector: same-host processes hand off objects in RAM.

Each object is one POSIX shared-memory segment: a file in the host's
shared-memory file system (`/dev/shm` on Linux), named
`proxystore-<namespace>-<32 hex digits>`. Any process of the same user on
the same host reaches the objects through a connector rebuilt from
`config()`.

Copies:

* `put`/`set` write the bytes (or the parts of a buffer list) straight into
  the segment: one copy.
* `get` of an object of 1 MiB or more maps the segment copy-on-write and
  returns a writable `memoryview` of the mapping: no copy at all, and
  `deserialize` aliases it. Pages are mapped when first touched; writes
  through the view copy only the touched pages and never reach the stored
  object or other readers. Smaller objects are read into a `bytearray`.
* A mapping stays valid after the object is evicted or the namespace is
  cleared: removing a segment only removes its name, and the memory is
  released once the last view of it is gone. Mappings hold no file
  descriptor, so a process may keep any number of results.

Writes go to a hidden temporary segment that is renamed into place when
complete, so readers never see a partial object, even if the writer is
killed. Segments are plain files, not `multiprocessing.shared_memory`
blocks: no `resource_tracker` unlinks them when their creator exits, so
objects live until they are evicted or their namespace is cleared.
"""

from __future__ import annotations

import ctypes
import errno
import mmap
import os
import re
import stat
import tempfile
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

from typing_extensions import Buffer

from proxystore.connectors.protocols import BufferList
from proxystore.serialize.buffers import LARGE_BUFFER
from proxystore.serialize.buffers import byte_views
from proxystore.utils.closing import CloseOnExit

__all__ = ['SharedMemoryConnector', 'SharedMemoryKey']

SHM_DIR = '/dev/shm'
"""Where POSIX shared memory lives on Linux (a `tmpfs`)."""

SEGMENT_PREFIX = 'proxystore-'
"""Every segment name starts with this prefix, then the namespace."""

_NAMESPACE = re.compile(r'[A-Za-z0-9_]{1,64}')
_NAME = re.compile(
    re.escape(SEGMENT_PREFIX) + r'(?P<namespace>[A-Za-z0-9_]{1,64})'
    r'-[0-9a-f]{32}',
)
_ID_BYTES = 16
_TEMP_SUFFIX = '.tmp'
_NO_ROOM = (errno.ENOSPC, errno.EFBIG)
_MAP_FIXED = getattr(mmap, 'MAP_FIXED', 0x10)  # Python < 3.12 lacks it
_MODE = 0o600
_READ_FLAGS = os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | os.O_NONBLOCK
_WRITE_FLAGS = (
    os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0)
)


class SharedMemoryKey(NamedTuple):
    """Key to an object in a `SharedMemoryConnector`.

    Attributes:
        name: Name of the shared-memory segment holding the object
            (`proxystore-<namespace>-<id>`).
    """

    name: str


def default_shm_dir() -> str:
    """`/dev/shm` where it exists, else the temporary directory.

    Outside Linux, segments are files in the temporary directory: still
    served from the page cache, but possibly written back to disk.
    """
    return SHM_DIR if os.path.isdir(SHM_DIR) else tempfile.gettempdir()


def _check_namespace(namespace: object) -> str:
    if not isinstance(namespace, str) or not _NAMESPACE.fullmatch(namespace):
        raise ValueError(
            f'Invalid shared-memory namespace {namespace!r}: use 1 to 64 '
            'ASCII letters, digits or underscores.',
        )
    return namespace


def _random_id() -> str:
    return os.urandom(_ID_BYTES).hex()


def _is_own_file(st: os.stat_result) -> bool:
    """A regular file of this user: never read or remove anything else."""
    return stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid()


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _write_all(fd: int, views: list[memoryview]) -> None:
    for view in views:
        while view:
            view = view[os.write(fd, view) :]


def _load_mmap() -> Any:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = (
        ctypes.c_void_p,
        ctypes.c_size_t,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_long,
    )
    return libc.mmap


_libc_mmap = _load_mmap()


def _map_private(fd: int, size: int) -> memoryview:
    """Map a file copy-on-write without keeping a file descriptor open.

    `mmap.mmap(fd, ...)` keeps a duplicate of `fd` per mapping before
    Python 3.13, so a process holding many results would run out of file
    descriptors. Instead, Python maps anonymous memory (no descriptor) and
    owns the address range; the file is mapped over that same range, and
    Python's `munmap` releases it when the last view is gone.
    """
    region = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE)
    anchor = ctypes.c_char.from_buffer(region)
    address = ctypes.addressof(anchor)
    del anchor  # release the buffer export
    mapped = _libc_mmap(
        address,
        size,
        mmap.PROT_READ | mmap.PROT_WRITE,
        mmap.MAP_PRIVATE | _MAP_FIXED,
        fd,
        0,
    )
    if mapped != address:
        code = ctypes.get_errno()
        region.close()
        raise OSError(code, f'Cannot map shared memory: {os.strerror(code)}')
    return memoryview(region)


def _read_segment(fd: int, size: int) -> bytearray | memoryview:
    """Map a large segment copy-on-write, or read a small one."""
    if size >= LARGE_BUFFER:
        return _map_private(fd, size)
    data = bytearray(size)
    view = memoryview(data)
    filled = 0
    while filled < size:
        n = os.readv(fd, [view[filled:]])
        if n == 0:  # pragma: no cover (published segments never shrink)
            raise OSError(f'Shared-memory segment shrank ({filled}/{size}).')
        filled += n
    return data


class SharedMemoryConnector(CloseOnExit):
    """Connector to shared memory on the local host.

    Objects are shared-memory segments in `shm_dir`, named after the
    connector's namespace. Connectors with the same namespace and
    `shm_dir` (e.g., rebuilt in another process with `from_config()`)
    share their objects; keys of another namespace are rejected.

    Example:
        ```python
        from proxystore.connectors.shm import SharedMemoryConnector

        with SharedMemoryConnector() as connector:
            key = connector.put(b'value')
            assert connector.get(key) == b'value'
        ```

    Warning:
        Segments use RAM until evicted or cleared, even after every process
        using them exits. `close()` clears the namespace by default.

    Args:
        namespace: Namespace of this connector's segments (1 to 64 ASCII
            letters, digits or underscores). Defaults to a new random
            namespace.
        clear: Remove every segment of the namespace on `close()`.
        shm_dir: Directory holding the segments (created if missing).
            Defaults to `/dev/shm`, or the temporary directory where that
            does not exist.

    Raises:
        ValueError: If `namespace` is invalid.
    """

    accepts_buffer_lists = True
    """`put`/`set` also take a list of buffers, written back to back."""

    def __init__(
        self,
        namespace: str | None = None,
        *,
        clear: bool = True,
        shm_dir: str | None = None,
    ) -> None:
        self.namespace = _check_namespace(
            _random_id()[:16] if namespace is None else namespace,
        )
        self.clear = clear
        self.shm_dir = os.path.abspath(
            default_shm_dir() if shm_dir is None else shm_dir,
        )
        self._prefix = os.path.join(self.shm_dir, '')
        self._name_prefix = f'{SEGMENT_PREFIX}{self.namespace}-'
        os.makedirs(self.shm_dir, exist_ok=True)

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(namespace={self.namespace!r}, '
            f'shm_dir={self.shm_dir!r})'
        )

    def _path(self, key: SharedMemoryKey) -> str:
        """Path of the segment `key` names, after checking it is ours.

        Raises:
            ValueError: If the key is not a segment name of this
                connector's namespace.
        """
        name = getattr(key, 'name', None)
        match = _NAME.fullmatch(name) if isinstance(name, str) else None
        if match is None:
            raise ValueError(
                f'Invalid SharedMemoryKey name {name!r}: expected '
                f"'{self._name_prefix}' followed by 32 hex digits.",
            )
        if match['namespace'] != self.namespace:
            raise ValueError(
                f'SharedMemoryKey {name!r} belongs to namespace '
                f'{match["namespace"]!r}, not to namespace '
                f'{self.namespace!r} of this connector.',
            )
        return self._prefix + match[0]

    def _owned_names(self) -> list[str]:
        """Names of this namespace's segments, published or in progress."""
        names = []
        for entry in os.scandir(self.shm_dir):
            name = entry.name
            if name.startswith('.') and name.endswith(_TEMP_SUFFIX):
                name = name[1 : -len(_TEMP_SUFFIX)]
            match = _NAME.fullmatch(name)
            if match is not None and match['namespace'] == self.namespace:
                names.append(entry.name)
        return names

    def _unlink_if_own(self, path: str) -> None:
        try:
            if _is_own_file(os.lstat(path)):
                os.unlink(path)
        except FileNotFoundError:
            pass

    def close(self, clear: bool | None = None) -> None:
        """Close the connector and clean up.

        Warning:
            Clearing removes every object of the namespace, including
            objects other processes put through copies of this connector.
            Views already returned by `get()` stay valid.

        Args:
            clear: Remove every segment of this namespace (and leftovers of
                writers that were killed). Overrides the `clear` value given
                when the connector was created.
        """
        if not (self.clear if clear is None else clear):
            return
        try:
            names = self._owned_names()
        except FileNotFoundError:
            return
        for name in names:
            self._unlink_if_own(self._prefix + name)

    def config(self) -> dict[str, Any]:
        """Get the configuration needed to rebuild this connector."""
        return {
            'namespace': self.namespace,
            'clear': self.clear,
            'shm_dir': self.shm_dir,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> SharedMemoryConnector:
        """Create a new connector instance from a configuration.

        Args:
            config: Configuration returned by `config()`.
        """
        return cls(**config)

    def evict(self, key: SharedMemoryKey) -> None:
        """Evict the object associated with the key (no-op if missing).

        Views of the object returned by `get()` stay valid.
        """
        self._unlink_if_own(self._path(key))

    def exists(self, key: SharedMemoryKey) -> bool:
        """Check if an object associated with the key exists."""
        try:
            return _is_own_file(os.lstat(self._path(key)))
        except FileNotFoundError:
            return False

    def get(self, key: SharedMemoryKey) -> bytearray | memoryview | None:
        """Get the serialized object associated with the key.

        Returns:
            `None` if the object does not exist; for objects of 1 MiB and
            more a writable copy-on-write `memoryview` of the segment (no
            copy, and it stays valid after the object is evicted); else a
            `bytearray`. Either is owned by the caller: writing to it never
            changes the stored object.
        """
        path = self._path(key)
        try:
            fd = os.open(path, _READ_FLAGS)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno == errno.ELOOP:  # a symlink is not one of ours
                return None
            raise
        try:
            st = os.fstat(fd)
            if not _is_own_file(st):
                return None
            return _read_segment(fd, st.st_size)
        finally:
            os.close(fd)

    def get_batch(
        self,
        keys: Sequence[SharedMemoryKey],
    ) -> list[bytearray | memoryview | None]:
        """Get serialized objects in the order of `keys` (`None` if absent)."""
        return [self.get(key) for key in keys]

    def new_key(self, obj: Buffer | None = None) -> SharedMemoryKey:
        """Create a new key; `obj` is ignored by this implementation."""
        return SharedMemoryKey(self._name_prefix + _random_id())

    def put(self, obj: Buffer | BufferList) -> SharedMemoryKey:
        """Put a serialized object in shared memory and return its key.

        Args:
            obj: A bytes-like object, or a list of them stored as their
                concatenation (written without joining them first).

        Raises:
            TypeError: If `obj` is not bytes-like.
            OSError: If the shared-memory file system is full.
        """
        key = self.new_key()
        self.set(key, obj)
        return key

    def put_batch(
        self,
        objs: Sequence[Buffer | BufferList],
    ) -> list[SharedMemoryKey]:
        """Put serialized objects; keys keep the order of `objs`.

        Either every object is stored or none is: all inputs are checked
        before anything is written, and objects already written are
        removed if a later write fails.

        Raises:
            TypeError: If an object is not bytes-like.
            OSError: If the shared-memory file system is full.
        """
        all_views = [byte_views(obj) for obj in objs]
        keys: list[SharedMemoryKey] = []
        try:
            for views in all_views:
                key = self.new_key()
                self._write(self._path(key), views)
                keys.append(key)
        except BaseException:
            for key in keys:
                self.evict(key)
            raise
        return keys

    def set(self, key: SharedMemoryKey, obj: Buffer | BufferList) -> None:
        """Write `obj` to the segment `key` names, atomically.

        The bytes go to a hidden temporary segment that is renamed to the
        key's name once complete, so the key never refers to a partial
        object. If the write fails, nothing is left behind.

        Args:
            key: Key from `new_key()`.
            obj: A bytes-like object, or a list of them stored as their
                concatenation.

        Raises:
            TypeError: If `obj` is not bytes-like.
            ValueError: If `key` is not a key of this namespace.
            OSError: If the shared-memory file system is full.
        """
        self._write(self._path(key), byte_views(obj))

    def _write(self, path: str, views: list[memoryview]) -> None:
        """Write `views` back to back to a temporary segment, then publish."""
        temp = f'{self._prefix}.{self._name_prefix}{_random_id()}'
        temp += _TEMP_SUFFIX
        try:
            fd = os.open(temp, _WRITE_FLAGS, _MODE)
            try:
                _write_all(fd, views)
            finally:
                os.close(fd)
            os.replace(temp, path)
        except BaseException as e:
            _remove(temp)
            if isinstance(e, OSError) and e.errno in _NO_ROOM:
                nbytes = sum(view.nbytes for view in views)
                raise OSError(
                    e.errno,
                    f'No room for an object of {nbytes} bytes in '
                    f'{self.shm_dir} ({e.strerror}). Shared memory is '
                    'limited by the size of that file system (in Docker, '
                    'raise it with --shm-size); evict objects or close '
                    'connectors with clear=True to free it.',
                ) from e
            raise
