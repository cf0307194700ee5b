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
killed. The temporary segments of killed writers (of any namespace of this
user) are removed when a connector opens and when a namespace is cleared;
those of live writers are never touched. Segments are plain files, not
`multiprocessing.shared_memory` blocks: no `resource_tracker` unlinks them
when their creator exits, so objects live until they are evicted or their
namespace is cleared.
"""

from __future__ import annotations

import ctypes
import mmap
import os
import re
import tempfile
from typing import Any
from typing import NamedTuple

from typing_extensions import Buffer

from proxystore.connectors._directory import DirectoryConnector
from proxystore.connectors._directory import random_name
from proxystore.connectors._directory import read_into
from proxystore.connectors._directory import tagged_name
from proxystore.utils.buffers import LARGE_BUFFER

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
_TEMP_SUFFIX = '.tmp'
_TEMP_NAME = re.compile(
    r'\.' + re.escape(SEGMENT_PREFIX) + r'(?P<namespace>[A-Za-z0-9_]{1,64})'
    r'-[0-9a-f-]{32,80}' + re.escape(_TEMP_SUFFIX),
)
_MAP_FIXED = getattr(mmap, 'MAP_FIXED', 0x10)  # Python < 3.12 lacks it
_NO_ROOM_HINT = (
    'Shared memory is limited by the size of that file system (in Docker, '
    'raise it with --shm-size); evict objects or close connectors with '
    'clear=True to free it.'
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


class SharedMemoryConnector(DirectoryConnector[SharedMemoryKey]):
    """Connector to shared memory on the local host.

    Objects are shared-memory segments in `shm_dir`, named after the
    connector's namespace. Connectors with the same namespace and
    `shm_dir` (e.g., rebuilt in another process with `from_config()`)
    share their objects; keys of another namespace are rejected, and
    files of other users are never read or removed.

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

    def __init__(
        self,
        namespace: str | None = None,
        *,
        clear: bool = True,
        shm_dir: str | None = None,
    ) -> None:
        self.namespace = _check_namespace(
            random_name()[:16] if namespace is None else namespace,
        )
        super().__init__(
            default_shm_dir() if shm_dir is None else shm_dir,
            buffering=0,
            file_mode=0o600,
            own_files_only=True,
            no_room_hint=_NO_ROOM_HINT,
        )
        self.clear = clear
        self.shm_dir = self._directory
        self._name_prefix = f'{SEGMENT_PREFIX}{self.namespace}-'
        self._opened()

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

    def _temp_path(self) -> str:
        name = f'.{self._name_prefix}{tagged_name()}{_TEMP_SUFFIX}'
        return self._prefix + name

    def _is_temp(self, name: str) -> bool:
        return _TEMP_NAME.fullmatch(name) is not None

    def _read(self, fd: int, size: int) -> bytearray | memoryview:
        """Map a large segment copy-on-write, or read a small one."""
        if size >= LARGE_BUFFER:
            return _map_private(fd, size)
        return read_into(fd, bytearray(size))

    def _owned_names(self) -> list[str]:
        """Names of this namespace's segments, published or in progress."""
        names = []
        for entry in os.scandir(self.shm_dir):
            name = entry.name
            pattern = _TEMP_NAME if name.startswith('.') else _NAME
            match = pattern.fullmatch(name)
            if match is not None and match['namespace'] == self.namespace:
                names.append(name)
        return names

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
            self._logger.info('Closed %r', self)
            return
        try:
            names = self._owned_names()
        except FileNotFoundError:
            names = []
        for name in names:
            self._remove(self._prefix + name)
        self._logger.info(
            'Closed %r and removed its %d segment(s)',
            self,
            len(names),
        )
        self.sweep_orphans()

    def config(self) -> dict[str, Any]:
        """Get the configuration needed to rebuild this connector."""
        return {
            'namespace': self.namespace,
            'clear': self.clear,
            'shm_dir': self.shm_dir,
        }

    def new_key(self, obj: Buffer | None = None) -> SharedMemoryKey:
        """Create a new key; `obj` is ignored by this implementation."""
        return SharedMemoryKey(self._name_prefix + random_name())
