"""Blob storage interface for endpoints.

An endpoint keeps its blobs in a `Storage`: `DictStorage` holds them in the
endpoint's memory, `SQLiteStorage` in an SQLite database (in memory, or in a
file that survives an endpoint restart). Both refuse a blob larger than
their `max_object_size` with an `ObjectSizeExceededError`.
"""

from __future__ import annotations

import asyncio
import pathlib
from typing import Protocol
from typing import runtime_checkable

import aiosqlite

from proxystore.endpoint.constants import MAX_OBJECT_SIZE_DEFAULT
from proxystore.endpoint.exceptions import ObjectSizeExceededError

DEFAULT_MAX_OBJECT_SIZE = MAX_OBJECT_SIZE_DEFAULT
"""Default largest blob (bytes) a storage accepts."""

SQLITE_MAX_BLOB_SIZE = 1_000_000_000
"""Largest blob SQLite stores (its default `SQLITE_MAX_LENGTH`)."""


class ChunkedBlob:
    """A blob kept as the sequence of chunks it arrived in.

    The HTTP server keeps bodies of unknown length (chunked uploads, and
    forwarded peer requests) as the chunks they arrived in rather than
    joining them, so peak memory stays at one blob. `bytes(blob)` joins the
    chunks.

    Args:
        chunks: The blob's bytes, in order.
    """

    __slots__ = ('chunks', 'nbytes')

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.nbytes = sum(len(chunk) for chunk in chunks)

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}(nbytes={self.nbytes}, '
            f'chunks={len(self.chunks)})'
        )

    def __bytes__(self) -> bytes:
        return b''.join(self.chunks)

    def __len__(self) -> int:
        return self.nbytes

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ChunkedBlob):
            other = bytes(other)
        try:
            return bytes(self) == memoryview(other)  # type: ignore[arg-type]
        except TypeError:
            return NotImplemented

    __hash__ = None  # type: ignore[assignment]


Blob = bytes | bytearray | memoryview | ChunkedBlob
"""A blob: any contiguous bytes-like object, or a `ChunkedBlob`.

Storages keep what they are given without copying, so `get()` returns
whatever type was stored; `bytes(blob)` works for all of them.
"""


@runtime_checkable
class Storage(Protocol):
    """Endpoint storage protocol for blobs."""

    max_object_size: int | None

    async def evict(self, key: str) -> None:
        """Evict a blob from storage.

        Args:
            key: Key associated with blob to evict.
        """
        ...

    async def exists(self, key: str) -> bool:
        """Check if a blob exists in the storage.

        Args:
            key: Key associated with the blob to check.

        Returns:
            If a blob associated with the key exists.
        """
        ...

    async def get(
        self,
        key: str,
        default: Blob | None = None,
    ) -> Blob | None:
        """Get a blob from storage.

        Args:
            key: Key associated with the blob to get.
            default: Default return value if the blob does not exist.

        Returns:
            The blob associated with the key or the value of `default`.
        """
        ...

    async def set(self, key: str, blob: Blob) -> None:
        """Store the blob associated with a key.

        Args:
            key: Key that will be used to retrieve the blob.
            blob: Blob (any bytes-like object) to store.

        Raises:
            ObjectSizeExceededError: If the blob is larger than
                `max_object_size`.
        """
        ...

    async def close(self) -> None:
        """Close the storage."""
        ...


def check_object_size(size: int, max_object_size: int | None) -> None:
    """Raise if `size` bytes is over `max_object_size` (`None` = no limit).

    Raises:
        ObjectSizeExceededError: If the size is over the limit.
    """
    if max_object_size is not None and size > max_object_size:
        raise ObjectSizeExceededError(
            f"Object of {size} bytes exceeds the endpoint's object limit "
            f'of {max_object_size} bytes (max_object_size).',
        )


def blob_size(blob: Blob) -> int:
    """Return the size of `blob` in bytes."""
    if isinstance(blob, ChunkedBlob):
        return blob.nbytes
    return memoryview(blob).nbytes


def contiguous(blob: Blob) -> bytes | bytearray | memoryview:
    """Return `blob` as one contiguous buffer (joins a `ChunkedBlob`)."""
    if isinstance(blob, ChunkedBlob):
        return bytes(blob)
    return blob


class DictStorage:
    """Dictionary-based storage for blobs in the endpoint's memory.

    Args:
        max_object_size: Largest blob in bytes to accept (`None` for no
            limit).
    """

    def __init__(
        self,
        *,
        max_object_size: int | None = DEFAULT_MAX_OBJECT_SIZE,
    ) -> None:
        self.max_object_size = max_object_size
        self._data: dict[str, Blob] = {}

    async def evict(self, key: str) -> None:
        """Evict a blob from storage (no-op if missing)."""
        self._data.pop(key, None)

    async def exists(self, key: str) -> bool:
        """Check if a blob exists in the storage."""
        return key in self._data

    async def get(
        self,
        key: str,
        default: Blob | None = None,
    ) -> Blob | None:
        """Get a blob from storage, or `default` if it does not exist."""
        return self._data.get(key, default)

    async def set(self, key: str, blob: Blob) -> None:
        """Store the blob associated with a key.

        The blob is stored as given (no copy); callers hand over ownership.

        Raises:
            ObjectSizeExceededError: If the blob is larger than
                `max_object_size`.
        """
        check_object_size(blob_size(blob), self.max_object_size)
        self._data[key] = blob

    async def close(self) -> None:
        """Clear all stored blobs."""
        self._data.clear()


class SQLiteStorage:
    """SQLite storage for blobs.

    File databases use write-ahead logging, so a blob whose `set()` has
    returned survives the endpoint being killed and restarted.

    Args:
        database_path: Path to the database file, or `':memory:'` for a
            database that lives only as long as this object.
        max_object_size: Largest blob in bytes to accept (`None` for no
            limit; SQLite itself caps blobs at about 1 GB).
    """

    def __init__(
        self,
        database_path: str | pathlib.Path = ':memory:',
        *,
        max_object_size: int | None = DEFAULT_MAX_OBJECT_SIZE,
    ) -> None:
        if database_path == ':memory:':
            self.database_path = str(database_path)
        else:
            path = pathlib.Path(database_path).expanduser().resolve()
            self.database_path = str(path)
        self.max_object_size = max_object_size
        self._db: aiosqlite.Connection | None = None
        self._lock = asyncio.Lock()

    async def db(self) -> aiosqlite.Connection:
        """Get the database connection, opening it on first use."""
        if self._db is not None:
            return self._db
        async with self._lock:
            if self._db is None:
                if self.database_path != ':memory:':
                    pathlib.Path(self.database_path).parent.mkdir(
                        parents=True,
                        exist_ok=True,
                    )
                db = await aiosqlite.connect(self.database_path)
                await db.execute('PRAGMA journal_mode=WAL')
                # In WAL mode NORMAL keeps committed data safe across a
                # process crash; only an OS crash can lose the last commits.
                await db.execute('PRAGMA synchronous=NORMAL')
                await db.execute(
                    'CREATE TABLE IF NOT EXISTS blobs '
                    '(key TEXT PRIMARY KEY, value BLOB NOT NULL)',
                )
                await db.commit()
                self._db = db
        return self._db

    async def evict(self, key: str) -> None:
        """Evict a blob from storage (no-op if missing)."""
        db = await self.db()
        await db.execute('DELETE FROM blobs WHERE key=?', (key,))
        await db.commit()

    async def exists(self, key: str) -> bool:
        """Check if a blob exists in the storage."""
        db = await self.db()
        async with db.execute(
            'SELECT 1 FROM blobs WHERE key=?',
            (key,),
        ) as cursor:
            return await cursor.fetchone() is not None

    async def get(
        self,
        key: str,
        default: Blob | None = None,
    ) -> Blob | None:
        """Get a blob from storage, or `default` if it does not exist."""
        db = await self.db()
        async with db.execute(
            'SELECT value FROM blobs WHERE key=?',
            (key,),
        ) as cursor:
            row = await cursor.fetchone()
        if row is None:
            return default
        value: Blob = row[0]
        return value

    async def set(self, key: str, blob: Blob) -> None:
        """Store the blob associated with a key.

        Raises:
            ObjectSizeExceededError: If the blob is larger than
                `max_object_size`.
        """
        size = blob_size(blob)
        check_object_size(size, self.max_object_size)
        if size > SQLITE_MAX_BLOB_SIZE:
            raise ObjectSizeExceededError(
                f'Object of {size} bytes exceeds the {SQLITE_MAX_BLOB_SIZE} '
                'bytes SQLite can store in one blob.',
            )
        db = await self.db()
        await db.execute(
            'INSERT OR REPLACE INTO blobs (key, value) VALUES (?, ?)',
            (key, contiguous(blob)),
        )
        await db.commit()

    async def close(self) -> None:
        """Close the database connection."""
        if self._db is not None:
            await self._db.close()
            self._db = None
