"""File system connector: one file per object in a (shared) directory."""

from __future__ import annotations

import os
import re
import shutil
import stat
from typing import Any
from typing import NamedTuple

from typing_extensions import Buffer

from proxystore.connectors._directory import DirectoryConnector
from proxystore.connectors._directory import random_name
from proxystore.connectors._directory import remove_file
from proxystore.connectors._directory import tagged_name

_TEMP_PREFIX = '.tmp-'
_FORBIDDEN = ('/', '\\', '\x00')
"""Both path separators (whatever the OS) and NUL."""
_MARKER_SUFFIX = '.ready'
_UPSTREAM_NAME = re.compile(
    r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}',
)
"""`str(uuid.uuid4())`: the names upstream ProxyStore gives objects."""
_DEFAULT_NAME_MAX = 255
_DEFAULT_PATH_MAX = 4096


class FileKey(NamedTuple):
    """Key to objects in a file system directory.

    Attributes:
        filename: Unique object filename (a single path component inside
            the connector's `store_dir`).
    """

    filename: str


def _pathconf(path: str, name: str, default: int) -> int:
    try:
        value = os.pathconf(path, name)
    except (OSError, ValueError, AttributeError):  # pragma: no cover
        return default
    return value if value > 0 else default  # pragma: no branch


def _invalid(filename: object, reason: str) -> ValueError:
    return ValueError(f'Invalid FileKey filename {filename!r}: {reason}')


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
    ):
        raise _invalid(
            filename,
            'it must be a non-empty single path component without '
            "separators or NUL that does not start with '.'.",
        )
    return filename


class FileConnector(DirectoryConnector[FileKey]):
    """Connector to a shared file system.

    Each object is written to its own file in `store_dir`. Writes go to a
    temporary name in `store_dir` and are renamed into place when complete,
    so a reader (or `exists`) never sees a partially written object, even if
    the writer is killed. Temporary files of killed writers are removed
    when a connector opens (see `sweep_orphans()`). Keys whose filename
    could name anything outside `store_dir` (`../x`, absolute paths, ...),
    or that the file system would refuse (too long, not encodable), raise
    `ValueError`.

    Objects written by upstream ProxyStore into a shared directory (a file
    named `str(uuid4())` plus an empty `<name>.ready` marker written after
    it) can be read: names of that form count as objects only once their
    marker exists, and this connector writes the marker too when it stores
    an object under such a name (so upstream readers see it).

    Args:
        store_dir: Directory to store data in (created if missing). Note
            this directory is deleted on `close()` when `clear` is set.
        clear: Remove `store_dir` on `close()`.
        buffering: Buffering policy passed to `open()` when writing
            (`-1` is the default policy). Reads always go straight into
            a preallocated buffer of the file's size.
    """

    def __init__(
        self,
        store_dir: str,
        *,
        clear: bool = True,
        buffering: int = -1,
    ) -> None:
        super().__init__(
            store_dir,
            buffering=buffering,
            file_mode=0o666,
            own_files_only=False,
            no_room_hint='Free space there or evict objects.',
        )
        self.store_dir = self._directory
        self.clear = clear
        self.buffering = buffering
        self._name_max = _pathconf(
            self.store_dir,
            'PC_NAME_MAX',
            _DEFAULT_NAME_MAX,
        )
        self._path_max = _pathconf(
            self.store_dir,
            'PC_PATH_MAX',
            _DEFAULT_PATH_MAX,
        )
        self._prefix_size = len(os.fsencode(self._prefix))
        self._opened()

    def __repr__(self) -> str:
        return f'{type(self).__name__}(directory={self.store_dir})'

    def _path(self, key: FileKey) -> str:
        filename = _check_filename(getattr(key, 'filename', None))
        try:
            size = len(os.fsencode(filename))
        except UnicodeError:
            raise _invalid(
                filename,
                'it cannot be encoded as a file name on this system.',
            ) from None
        if size > self._name_max or self._prefix_size + size >= (
            self._path_max
        ):
            raise _invalid(
                f'{filename[:32]}...',
                f'it is {size} bytes long; file names in {self.store_dir} '
                f'may have at most {self._name_max} bytes (and whole paths '
                f'{self._path_max - 1}).',
            )
        return self._prefix + filename

    def _temp_path(self) -> str:
        return self._prefix + _TEMP_PREFIX + tagged_name()

    def _is_temp(self, name: str) -> bool:
        return name.startswith(_TEMP_PREFIX)

    def _upstream(self, path: str) -> bool:
        """Whether `path` names an object in upstream ProxyStore's form."""
        return _UPSTREAM_NAME.fullmatch(path, len(self._prefix)) is not None

    def _visible(self, path: str) -> bool:
        if not self._upstream(path):
            return True
        try:
            marker = os.lstat(path + _MARKER_SUFFIX)
        except FileNotFoundError:
            return False
        return stat.S_ISREG(marker.st_mode)  # never a symlink

    def _published(self, path: str) -> None:
        if self._upstream(path):
            try:
                with open(path + _MARKER_SUFFIX, 'wb'):
                    pass
            except BaseException:
                remove_file(path)
                raise

    def evict(self, key: FileKey) -> None:
        """Evict the object associated with the key (no-op if missing).

        A symlink under the key's name is removed, never its target. The
        `.ready` marker of an upstream-style object goes first, so readers
        never see a marked but missing object.

        Raises:
            ValueError: If `key` is not a valid key of this connector.
        """
        path = self._path(key)
        if self._upstream(path):
            self._remove(path + _MARKER_SUFFIX)
        super().evict(key)

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
            self._logger.info('Closed %r and removed its directory', self)
        else:
            self._logger.info('Closed %r', self)

    def config(self) -> dict[str, Any]:
        """Get the configuration needed to rebuild this connector."""
        return {
            'store_dir': self.store_dir,
            'clear': self.clear,
            'buffering': self.buffering,
        }

    def new_key(self, obj: Buffer | None = None) -> FileKey:
        """Create a new key; `obj` is ignored by this implementation."""
        return FileKey(random_name())
