"""File system connector: one file per object in a (shared) directory."""

from __future__ import annotations

import shutil
from typing import Any
from typing import NamedTuple

from typing_extensions import Buffer

from proxystore.connectors._directory import DirectoryConnector
from proxystore.connectors._directory import random_name

_TEMP_PREFIX = '.tmp-'
_FORBIDDEN = ('/', '\\', '\x00')
"""Both path separators (whatever the OS) and NUL."""


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
    ):
        raise ValueError(
            f'Invalid FileKey filename {filename!r}: it must be a non-empty '
            'single path component without separators or NUL that does not '
            "start with '.'.",
        )
    return filename


class FileConnector(DirectoryConnector[FileKey]):
    """Connector to a shared file system.

    Each object is written to its own file in `store_dir`. Writes go to a
    temporary name in `store_dir` and are renamed into place when complete,
    so a reader (or `exists`) never sees a partially written object, even if
    the writer is killed. Keys whose filename could name anything outside
    `store_dir` (`../x`, absolute paths, ...) raise `ValueError`.

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

    def __repr__(self) -> str:
        return f'{type(self).__name__}(store_dir={self.store_dir!r})'

    def _path(self, key: FileKey) -> str:
        return self._prefix + _check_filename(getattr(key, 'filename', None))

    def _temp_path(self) -> str:
        return self._prefix + _TEMP_PREFIX + random_name()

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

    def new_key(self, obj: Buffer | None = None) -> FileKey:
        """Create a new key; `obj` is ignored by this implementation."""
        return FileKey(random_name())
