"""Mixins for objects that are closed when a `with` block ends."""

from __future__ import annotations

from collections.abc import Generator
from types import TracebackType
from typing import Any

from typing_extensions import Self


class CloseOnExit:
    """Make an object a context manager that calls `close()` on exit.

    Subclasses override `close()`; any extra parameters it takes must have
    defaults, since exiting the `with` block calls it with none.
    """

    def close(self) -> None:
        """Release the object's resources."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        exc_traceback: TracebackType | None,
    ) -> None:
        self.close()


class AsyncCloseOnExit:
    """Make an object an async context manager that can also be awaited.

    `async with obj` and `await obj` run `async_init()` and give back the
    object; leaving the `async with` block awaits `close()`. Subclasses
    override both.
    """

    async def async_init(self) -> None:
        """Open the object's resources."""

    async def close(self) -> None:
        """Release the object's resources."""

    def __await__(self) -> Generator[Any, None, Self]:
        return self.__aenter__().__await__()

    async def __aenter__(self) -> Self:
        await self.async_init()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        exc_traceback: TracebackType | None,
    ) -> None:
        await self.close()
