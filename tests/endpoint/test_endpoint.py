"""The Endpoint object itself (no HTTP)."""

from __future__ import annotations

import asyncio
import pathlib
import uuid

import pytest

from proxystore.endpoint.endpoint import Endpoint
from proxystore.endpoint.exceptions import InvalidKeyError
from proxystore.endpoint.exceptions import PeerUnavailableError
from proxystore.endpoint.storage import DictStorage
from proxystore.endpoint.storage import SQLiteStorage


def test_defaults() -> None:
    endpoint = Endpoint()
    uuid.UUID(endpoint.uuid)
    assert endpoint.name == endpoint.uuid.split('-')[0]
    assert isinstance(endpoint.storage, DictStorage)
    assert endpoint.uuid in repr(endpoint)
    assert Endpoint('named', uuid.UUID(int=1)).uuid == str(uuid.UUID(int=1))


def test_operations_local_and_by_own_uuid(tmp_path: pathlib.Path) -> None:
    async def main() -> None:
        storage = SQLiteStorage(tmp_path / 'db.sqlite')
        async with Endpoint('e', storage=storage) as endpoint:
            await endpoint.set('a', b'1')
            await endpoint.set('b', b'2', endpoint=endpoint.uuid.upper())
            assert await endpoint.get('a', endpoint=endpoint.uuid) == b'1'
            assert await endpoint.get('b') == b'2'
            assert await endpoint.exists('a')
            await endpoint.evict('a', endpoint=endpoint.uuid)
            assert not await endpoint.exists('a')
            assert await endpoint.get('a') is None

    asyncio.run(main())


def test_bad_input_is_refused_and_data_kept() -> None:
    async def main() -> None:
        endpoint = Endpoint()
        await endpoint.set('kept', b'yes')
        with pytest.raises(InvalidKeyError):
            await endpoint.set('../x', b'no')
        with pytest.raises(InvalidKeyError):
            await endpoint.get('kept', endpoint='not-a-uuid')
        with pytest.raises(PeerUnavailableError, match='no relay server'):
            await endpoint.get('kept', endpoint=str(uuid.uuid4()))
        assert await endpoint.get('kept') == b'yes'
        await endpoint.close()

    asyncio.run(main())
