from __future__ import annotations

import asyncio
import pathlib
from collections.abc import Callable
from typing import Any

import pytest

from proxystore.endpoint.exceptions import ObjectSizeExceededError
from proxystore.endpoint.storage import ChunkedBlob
from proxystore.endpoint.storage import DictStorage
from proxystore.endpoint.storage import SQLiteStorage
from proxystore.endpoint.storage import Storage


def _dict(max_object_size: int | None = 100) -> Storage:
    return DictStorage(max_object_size=max_object_size)


def _sqlite(max_object_size: int | None = 100) -> Storage:
    return SQLiteStorage(max_object_size=max_object_size)


STORAGES = pytest.mark.parametrize(
    'make',
    [_dict, _sqlite],
    ids=['dict', 'sqlite-memory'],
)


@STORAGES
def test_set_get_exists_evict(make: Callable[..., Storage]) -> None:
    async def main() -> None:
        storage = make()
        assert isinstance(storage, Storage)
        assert await storage.get('k') is None
        assert await storage.get('k', b'default') == b'default'
        assert not await storage.exists('k')
        await storage.set('k', b'value')
        await storage.set('other', bytearray(b'kept'))
        assert await storage.exists('k')
        assert bytes(await storage.get('k') or b'') == b'value'
        await storage.evict('k')
        await storage.evict('k')  # missing: no-op
        assert not await storage.exists('k')
        assert bytes(await storage.get('other') or b'') == b'kept'
        await storage.close()

    asyncio.run(main())


@STORAGES
def test_oversize_blob_refused_and_nothing_lost(
    make: Callable[..., Storage],
) -> None:
    async def main() -> None:
        storage = make(max_object_size=10)
        await storage.set('small', b'0123456789')
        with pytest.raises(ObjectSizeExceededError, match='11 bytes exceeds'):
            await storage.set('big', b'x' * 11)
        with pytest.raises(ObjectSizeExceededError):
            await storage.set('small', memoryview(b'y' * 20))
        assert not await storage.exists('big')
        assert await storage.get('small') == b'0123456789'
        await storage.close()

    asyncio.run(main())


@STORAGES
def test_no_size_limit(make: Callable[..., Storage]) -> None:
    async def main() -> None:
        storage = make(max_object_size=None)
        await storage.set('k', b'x' * 1000)
        assert await storage.exists('k')
        await storage.close()

    asyncio.run(main())


def test_sqlite_file_survives_reopen(tmp_path: pathlib.Path) -> None:
    path = tmp_path / 'sub' / 'blobs.db'

    async def write() -> None:
        storage = SQLiteStorage(path)
        await storage.set('k', b'persisted')
        await storage.close()

    async def read() -> Any:
        storage = SQLiteStorage(str(path))
        try:
            return await storage.get('k')
        finally:
            await storage.close()

    asyncio.run(write())
    assert asyncio.run(read()) == b'persisted'


def test_sqlite_uses_wal(tmp_path: pathlib.Path) -> None:
    async def main() -> str:
        storage = SQLiteStorage(tmp_path / 'blobs.db')
        db = await storage.db()
        async with db.execute('PRAGMA journal_mode') as cursor:
            row = await cursor.fetchone()
        await storage.close()
        assert row is not None
        return str(row[0])

    assert asyncio.run(main()) == 'wal'


def test_sqlite_key_is_data_not_sql() -> None:
    async def main() -> None:
        storage = SQLiteStorage()
        await storage.set('safe', b'1')
        await storage.set("x'; DROP TABLE blobs; --", b'2')
        assert await storage.get('safe') == b'1'
        await storage.close()

    asyncio.run(main())


@STORAGES
def test_chunked_blob(make: Callable[..., Storage]) -> None:
    async def main() -> None:
        storage = make(max_object_size=10)
        blob = ChunkedBlob([b'abc', b'def'])
        assert len(blob) == 6
        assert bytes(blob) == b'abcdef'
        assert blob == b'abcdef'
        assert 'nbytes=6' in repr(blob)
        await storage.set('k', blob)
        assert bytes(await storage.get('k') or b'') == b'abcdef'
        with pytest.raises(ObjectSizeExceededError):
            await storage.set('big', ChunkedBlob([b'x' * 6, b'y' * 6]))
        assert not await storage.exists('big')
        await storage.close()

    asyncio.run(main())


def test_sqlite_refuses_blobs_sqlite_cannot_hold(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import proxystore.endpoint.storage as storage_module

    monkeypatch.setattr(storage_module, 'SQLITE_MAX_BLOB_SIZE', 5)

    async def main() -> None:
        storage = SQLiteStorage(max_object_size=None)
        with pytest.raises(ObjectSizeExceededError, match='SQLite'):
            await storage.set('k', b'123456')
        assert not await storage.exists('k')
        await storage.close()

    asyncio.run(main())
