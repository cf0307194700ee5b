from __future__ import annotations

import asyncio

import pytest

from proxystore.utils.closing import AsyncCloseOnExit
from proxystore.utils.closing import CloseOnExit


class Resource(CloseOnExit):
    def __init__(self) -> None:
        self.closed: list[bool] = []

    def close(self, clear: bool = False) -> None:
        self.closed.append(clear)


def test_with_block_closes_with_defaults() -> None:
    resource = Resource()
    with resource as entered:
        assert entered is resource
        assert resource.closed == []
    assert resource.closed == [False]


def test_closes_when_the_block_raises() -> None:
    resource = Resource()
    with pytest.raises(KeyError):
        with resource:
            raise KeyError('boom')
    assert resource.closed == [False]


def test_base_close_is_a_no_op() -> None:
    with CloseOnExit() as resource:
        assert isinstance(resource, CloseOnExit)


class AsyncResource(AsyncCloseOnExit):
    def __init__(self) -> None:
        self.events: list[str] = []

    async def async_init(self) -> None:
        self.events.append('init')

    async def close(self) -> None:
        self.events.append('close')


def test_async_with_and_await_open_and_close() -> None:
    async def main() -> None:
        resource = AsyncResource()
        async with resource as entered:
            assert entered is resource
            assert resource.events == ['init']
        assert resource.events == ['init', 'close']
        awaited = await AsyncResource()
        assert awaited.events == ['init']

    asyncio.run(main())


def test_async_with_closes_when_the_block_raises() -> None:
    async def main() -> AsyncResource:
        resource = AsyncResource()
        with pytest.raises(KeyError):
            async with resource:
                raise KeyError('boom')
        return resource

    assert asyncio.run(main()).events == ['init', 'close']
