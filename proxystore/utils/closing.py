"""A mixin for objects that are closed when a `with` block ends."""

from __future__ import annotations

from types import TracebackType

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
