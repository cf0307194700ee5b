"""File system connector: one file per object in a (shared) directory."""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

from typing_extensions import Buffer

from proxystore.connectors.protocols import BufferList
from proxystore.serialize.buffers import allocate
from proxystore.serialize.buffers import byte_views
from proxystore.utils.closing import CloseOnExit

_TEMP_PREFIX = '.tmp-'
_FORBIDDEN = ('/', '\\', '\x00')
_NO_FOLLOW = getattr(os, 'O_NOFOLLOW', 0)


class FileKey(NamedTuple):
    """Key to objects in a file system directory.

    Attributes:
        filename: Unique object filename (a single path component inside
            the connector's `store_dir`).
    """

    filename: str


def _check_filename(filename: object) -> str:
    """Return `filename` if it names a plain file directly in the store.

    Names starting with `.` are reserved: `.`/`..` would escape the store
    and `.tmp-*` names hold writes in progress.

    Raises:
        ValueError: If `filename` could refer to anything outside the
            store directory or to a reserved name.
    """
    if (
        not isinstance(filename, str)
        or not filename
        or filename.startswith('.')
        or any(c in filename for c in _FORBIDDEN)
        or (os.sep in filename)
        or (os.altsep is not None and os.altsep in filename)
    ):
        raise ValueError(
            f'Invalid FileKey filename {filename!r}: it must be a non-empty '
            'single path component without separators or NUL that does not '
            "start with '.'.",
        )
    return filename


def _random_name() -> str:
    """A 128-bit random hex name: unique without coordination."""
    return os.urandom(16).hex()


def _read_file(path: str) -> bytearray | memoryview:
    """Read a whole file into a preallocated, caller-owned buffer."""
    fd = os.open(path, os.O_RDONLY | _NO_FOLLOW)
    try:
        size = os.fstat(fd).st_size
        data = allocate(size)
        view = memoryview(data)
        filled = 0
        while filled < size:
            n = os.readv(fd, [view[filled:]])
            if n == 0:
                raise OSError(f'File {path} shrank while being read.')
            filled += n
        return data
    finally:
        os.close(fd)


class FileConnector(CloseOnExit):
    """Connector to a shared file system.

    Each object is written to its own file in `store_dir`. Writes go to a
    temporary name in `store_dir` and are renamed into place when complete,
    so a reader (or `exists`) never sees a partially written object, even if
    the writer is killed.

    Args:
        store_dir: Directory to store data in (created if missing). Note
            this directory is deleted on `close()` when `clear` is set.
        clear: Remove `store_dir` on `close()`.
        buffering: Buffering policy passed to `open()` when writing
            (`-1` is the default policy). Reads always go straight into
            a preallocated buffer of the file's size.
    """

    accepts_buffer_lists = True
    """`put`/`set` also take a list of buffers, written back to back."""

    def __init__(
        self,
        store_dir: str,
        *,
        clear: bool = True,
        buffering: int = -1,
    ) -> None:
        self.store_dir = os.path.abspath(store_dir)
        self.clear = clear
        self.buffering = buffering
        self._prefix = os.path.join(self.store_dir, '')
        os.makedirs(self.store_dir, exist_ok=True)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(store_dir={self.store_dir!r})'

    def _path(self, key: FileKey) -> str:
        return self._prefix + _check_filename(key.filename)

    def close(self, clear: bool | None = None) -> None:
        """Close the connector and clean up.

        Warning:
            By default this deletes `store_dir` and everything in it. Only
            close a clearing connector once no one needs its objects.

        Args:
            clear: Remove the store directory. Overrides the `clear` value
                given when the connector was created.
        """
        if self.clear if clear is None else clear:
            shutil.rmtree(self.store_dir, ignore_errors=True)

    def config(self) -> dict[str, Any]:
        """Get the configuration needed to rebuild this connector."""
        return {
            'store_dir': self.store_dir,
            'clear': self.clear,
            'buffering': self.buffering,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> FileConnector:
        """Create a new connector instance from a configuration.

        Args:
            config: Configuration returned by `config()`.
        """
        return cls(**config)

    def evict(self, key: FileKey) -> None:
        """Evict the object associated with the key (no-op if missing)."""
        try:
            os.remove(self._path(key))
        except FileNotFoundError:
            pass

    def exists(self, key: FileKey) -> bool:
        """Check if an object associated with the key exists."""
        try:
            return stat.S_ISREG(os.lstat(self._path(key)).st_mode)
        except FileNotFoundError:
            return False

    def get(self, key: FileKey) -> bytearray | memoryview | None:
        """Get the serialized object associated with the key.

        Returns:
            A new writable buffer owned by the caller (a `bytearray`, or for
            objects of 1 MiB and more a writable `memoryview`), or `None`
            if the object does not exist. `deserialize` can use it without
            another copy.
        """
        path = self._path(key)
        try:
            return _read_file(path)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno == errno.ELOOP:  # a symlink is not one of ours
                return None
            raise

    def get_batch(
        self,
        keys: Sequence[FileKey],
    ) -> list[bytearray | memoryview | None]:
        """Get serialized objects in the order of `keys` (`None` if absent)."""
        return [self.get(key) for key in keys]

    def new_key(self, obj: Buffer | None = None) -> FileKey:
        """Create a new key; `obj` is ignored by this implementation."""
        return FileKey(_random_name())

    def put(self, obj: Buffer | BufferList) -> FileKey:
        """Put a serialized object in the store and return its key.

        Args:
            obj: A bytes-like object, or a list of them stored as their
                concatenation (written without joining them first).
        """
        key = self.new_key()
        self.set(key, obj)
        return key

    def put_batch(
        self,
        objs: Sequence[Buffer | BufferList],
    ) -> list[FileKey]:
        """Put serialized objects; keys keep the order of `objs`."""
        return [self.put(obj) for obj in objs]

    def set(self, key: FileKey, obj: Buffer | BufferList) -> None:
        """Write `obj` under `key`, atomically replacing the file.

        The data is written to a temporary file in `store_dir` and renamed
        into place, so the key never refers to a partial object.

        Args:
            key: Key from `new_key()`.
            obj: A bytes-like object, or a list of them stored as their
                concatenation.
        """
        path = self._path(key)
        views = byte_views(obj)
        temp = self._prefix + _TEMP_PREFIX + _random_name()
        try:
            with open(temp, 'xb', buffering=self.buffering) as f:
                for view in views:
                    while view:  # unbuffered writes may be partial
                        view = view[f.write(view) :]
            os.replace(temp, path)
        except BaseException:
            try:
                os.remove(temp)
            except FileNotFoundError:
                pass
            raise
