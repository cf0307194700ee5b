"""One file per object in a directory: what File and SharedMemory share.

`DirectoryConnector` implements the connector protocol over a directory:
objects are written to a hidden temporary file and renamed into place
(readers never see a partial object, even if the writer is killed), only
regular files count as objects, symlinks are never followed and FIFOs or
sockets never read. Subclasses say how a key maps to a path
(rejecting keys that would leave the directory), how temporary files are
named and how a stored file is read back.

Temporary names carry a writer tag (see `_orphans`): temporary files left
by killed writers are swept when a connector opens (and by
`sweep_orphans()`), never those of a live writer.

Lifecycle events (open, close, sweeps) are logged at INFO, each operation
at DEBUG, on the logger of the subclass's module.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
from collections.abc import Sequence
from typing import Any
from typing import Generic
from typing import TypeVar

from typing_extensions import Buffer
from typing_extensions import Self

from proxystore.connectors._orphans import TAG_PATTERN
from proxystore.connectors._orphans import is_orphan
from proxystore.connectors._orphans import writer_tag
from proxystore.connectors.protocols import BufferList
from proxystore.utils.buffers import allocate
from proxystore.utils.buffers import byte_views
from proxystore.utils.closing import CloseOnExit

KeyT = TypeVar('KeyT')

_NO_FOLLOW = getattr(os, 'O_NOFOLLOW', 0)
# O_NONBLOCK: opening a FIFO planted under a key's name must not block.
_READ_FLAGS = os.O_RDONLY | _NO_FOLLOW | os.O_NONBLOCK
_WRITE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NO_FOLLOW
# What open() says of a symlink (O_NOFOLLOW) or a socket: not an object.
_NOT_A_FILE = (errno.ELOOP, errno.ENXIO)
_NO_ROOM = (errno.ENOSPC, errno.EFBIG)
_TAGGED = re.compile(TAG_PATTERN + '-[0-9a-f]{32}')


def random_name() -> str:
    """A 128-bit random hex name: unique without coordination."""
    return os.urandom(16).hex()


def tagged_name() -> str:
    """A unique name for a temporary file: writer tag, random hex."""
    return f'{writer_tag()}-{random_name()}'


def read_into(
    fd: int,
    buffer: bytearray | memoryview,
) -> bytearray | memoryview:
    """Fill `buffer` from the start of the file `fd` and return it.

    Raises:
        OSError: If the file is shorter than `buffer`.
    """
    view = memoryview(buffer)
    size, filled = view.nbytes, 0
    while filled < size:
        n = os.readv(fd, [view[filled:]])
        if n == 0:
            raise OSError(f'File shrank while being read ({filled}/{size}).')
        filled += n
    return buffer


def remove_file(path: str) -> None:
    """Remove `path` if it exists."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


class DirectoryConnector(CloseOnExit, Generic[KeyT]):
    """Connector storing each object as one file in a directory.

    Subclasses implement `new_key`, `_path` (the checked path of a key),
    `_temp_path` (built with `tagged_name()`) and `_is_temp`, and may
    override `_read`, `_visible`, `_published`, `close` and `config`.

    Args:
        directory: Directory holding the objects (created if missing).
        buffering: Buffering policy of `open()` for writes (`-1` is the
            default policy, `0` unbuffered).
        file_mode: Permission bits of new files (before the umask).
        own_files_only: Treat files of other users as absent: never read
            or remove them.
        no_room_hint: Advice added to the error raised when the file
            system is full.
    """

    accepts_buffer_lists = True
    """`put`/`set` also take a list of buffers, written back to back."""

    def __init__(
        self,
        directory: str,
        *,
        buffering: int,
        file_mode: int,
        own_files_only: bool,
        no_room_hint: str,
    ) -> None:
        self._directory = os.path.abspath(directory)
        self._prefix = os.path.join(self._directory, '')
        self._buffering = buffering
        self._file_mode = file_mode
        self._own_files_only = own_files_only
        self._no_room_hint = no_room_hint
        self._logger = logging.getLogger(type(self).__module__)
        os.makedirs(self._directory, exist_ok=True)

    def _opened(self) -> None:
        """Log the opening and sweep orphans; subclasses call it last."""
        self._logger.info('Opened %r', self)
        self.sweep_orphans()

    def _path(self, key: KeyT) -> str:
        """Path of the object `key` names, inside the directory.

        Raises:
            ValueError: If `key` could name anything else.
        """
        raise NotImplementedError

    def _temp_path(self) -> str:
        """A new hidden path in the directory for a write in progress."""
        raise NotImplementedError

    def _is_temp(self, name: str) -> bool:
        """Whether `name` (starting with `.`) is a temporary file to sweep."""
        raise NotImplementedError

    def _visible(self, path: str) -> bool:
        """Whether the complete file at `path` is a published object."""
        return True

    def _published(self, path: str) -> None:
        """Called once an object has been renamed into place at `path`."""

    def _read(self, fd: int, size: int) -> bytearray | memoryview:
        """Read a stored file of `size` bytes into a caller-owned buffer."""
        return read_into(fd, allocate(size))

    def _owned(self, st: os.stat_result) -> bool:
        return not self._own_files_only or st.st_uid == os.geteuid()

    def _is_object(self, st: os.stat_result) -> bool:
        return stat.S_ISREG(st.st_mode) and self._owned(st)

    def _remove(self, path: str) -> None:
        """Remove what `path` names (never following it), if ours."""
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return
        if not stat.S_ISDIR(st.st_mode) and self._owned(st):
            remove_file(path)

    def sweep_orphans(self) -> int:
        """Remove temporary files that writers killed mid-write left behind.

        A temporary file is removed only if its writer ran on this host
        and is no longer alive, or if its writer cannot be checked from
        here and the file has not been modified for an hour. Writes in
        progress are never touched. Runs when a connector opens.

        Returns:
            The number of files removed.
        """
        removed = 0
        try:
            entries = os.scandir(self._directory)
        except FileNotFoundError:
            return 0
        with entries:
            for entry in entries:
                name = entry.name
                if not name.startswith('.') or not self._is_temp(name):
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                if self._is_object(st) and is_orphan(
                    _TAGGED.search(name),
                    st.st_mtime,
                ):
                    remove_file(entry.path)
                    removed += 1
        if removed:
            self._logger.info(
                'Removed %d temporary file(s) of dead writers from %s',
                removed,
                self._directory,
            )
        return removed

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Self:
        """Create a new connector instance from a configuration.

        Args:
            config: Configuration returned by `config()`.
        """
        return cls(**config)

    def new_key(self, obj: Buffer | None = None) -> KeyT:
        """Create a new key; `obj` is ignored by this implementation."""
        raise NotImplementedError

    def evict(self, key: KeyT) -> None:
        """Evict the object associated with the key (no-op if missing).

        A symlink under the key's name is removed, never its target.

        Raises:
            ValueError: If `key` is not a valid key of this connector.
        """
        self._remove(self._path(key))
        self._logger.debug('Evicted %r', key)

    def exists(self, key: KeyT) -> bool:
        """Check if an object associated with the key exists.

        Raises:
            ValueError: If `key` is not a valid key of this connector.
        """
        path = self._path(key)
        try:
            found = self._is_object(os.lstat(path)) and self._visible(path)
        except FileNotFoundError:
            found = False
        self._logger.debug('Exists %r: %s', key, found)
        return found

    def get(self, key: KeyT) -> bytearray | memoryview | None:
        """Get the serialized object associated with the key.

        Returns:
            A new writable buffer owned by the caller, or `None` if the
            object does not exist. Writing to it never changes the stored
            object, and `deserialize` can use it without another copy.

        Raises:
            ValueError: If `key` is not a valid key of this connector.
        """
        path = self._path(key)
        data = self._get(path)
        self._logger.debug(
            'Got %r (%s)',
            key,
            'missing' if data is None else f'{len(data)} bytes',
        )
        return data

    def _get(self, path: str) -> bytearray | memoryview | None:
        try:
            fd = os.open(path, _READ_FLAGS)
        except FileNotFoundError:
            return None
        except OSError as e:
            if e.errno in _NOT_A_FILE:
                return None
            raise
        try:
            st = os.fstat(fd)
            if not self._is_object(st) or not self._visible(path):
                return None
            return self._read(fd, st.st_size)
        finally:
            os.close(fd)

    def get_batch(
        self,
        keys: Sequence[KeyT],
    ) -> list[bytearray | memoryview | None]:
        """Get serialized objects in the order of `keys` (`None` if absent)."""
        return [self.get(key) for key in keys]

    def put(self, obj: Buffer | BufferList) -> KeyT:
        """Put a serialized object in the store and return its key.

        Args:
            obj: A bytes-like object, or a list of them stored as their
                concatenation (written without joining them first).

        Raises:
            TypeError: If `obj` is not bytes-like. Nothing is stored.
            OSError: If the file system is full. Nothing is stored.
        """
        key = self.new_key()
        self.set(key, obj)
        return key

    def put_batch(self, objs: Sequence[Buffer | BufferList]) -> list[KeyT]:
        """Put serialized objects; keys keep the order of `objs`.

        Either every object is stored or none is: all inputs are checked
        before anything is written, and objects already written are
        removed if a later write fails.

        Raises:
            TypeError: If an object is not bytes-like.
            OSError: If the file system is full.
        """
        all_views = [byte_views(obj) for obj in objs]
        keys: list[KeyT] = []
        try:
            for views in all_views:
                key = self.new_key()
                self._write(self._path(key), views)
                keys.append(key)
        except BaseException:
            for key in keys:
                self.evict(key)
            raise
        self._logger.debug('Put a batch of %d object(s)', len(keys))
        return keys

    def set(self, key: KeyT, obj: Buffer | BufferList) -> None:
        """Write `obj` under `key`, atomically.

        The bytes go to a hidden temporary file that is renamed to the
        key's name once complete, so the key never refers to a partial
        object. If the write fails, nothing is left behind.

        Args:
            key: Key from `new_key()`.
            obj: A bytes-like object, or a list of them stored as their
                concatenation.

        Raises:
            TypeError: If `obj` is not bytes-like.
            ValueError: If `key` is not a valid key of this connector.
            OSError: If the file system is full.
        """
        self._write(self._path(key), byte_views(obj))
        self._logger.debug('Set %r', key)

    def _write(self, path: str, views: list[memoryview]) -> None:
        """Write `views` back to back to a temporary file, then publish."""
        temp = self._temp_path()
        try:
            fd = os.open(temp, _WRITE_FLAGS, self._file_mode)
            with open(fd, 'wb', buffering=self._buffering) as f:
                for view in views:
                    while view:  # unbuffered writes may be partial
                        view = view[f.write(view) :]
            os.replace(temp, path)
            self._published(path)
        except BaseException as e:
            remove_file(temp)
            if isinstance(e, OSError) and e.errno in _NO_ROOM:
                nbytes = sum(view.nbytes for view in views)
                raise OSError(
                    e.errno,
                    f'No room for an object of {nbytes} bytes in '
                    f'{self._directory} ({e.strerror}). '
                    f'{self._no_room_hint}',
                ) from e
            raise
