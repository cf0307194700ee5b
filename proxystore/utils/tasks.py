"""Background asyncio tasks that do not fail silently.

An exception in a task nobody awaits is only reported when the task is
garbage-collected, if ever. A task made by
`spawn_guarded_background_task` logs the exception with its traceback and
exits the process instead, unless it raised `SafeTaskExitError` or was
cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable
from collections.abc import Coroutine
from collections.abc import Iterable
from typing import Any

logger = logging.getLogger(__name__)


class SafeTaskExitError(Exception):
    """Raise in a guarded background task to end it without exiting."""


def exit_on_error(task: asyncio.Task[Any]) -> None:
    """Exit the process if a finished task raised an exception.

    Use as a done-callback (`task.add_done_callback(exit_on_error)`). A
    cancelled task, or one that raised `SafeTaskExitError`, is ignored.

    Args:
        task: The finished task.

    Raises:
        SystemExit: With code 1 if the task raised any other exception.
    """
    if task.cancelled():
        return
    exception = task.exception()
    if exception is None or isinstance(exception, SafeTaskExitError):
        return
    logger.error(
        f'Exception in background task (name="{task.get_name()}"): '
        f'{exception!r}',
    )
    raise SystemExit(1)


def spawn_guarded_background_task(
    coro: Callable[..., Coroutine[Any, Any, None]],
    *args: Any,
    **kwargs: Any,
) -> asyncio.Task[Any]:
    """Run a coroutine function as a background task that cannot fail quietly.

    An exception raised by the coroutine is logged at `ERROR` with its
    traceback, and [`exit_on_error`][proxystore.utils.tasks.exit_on_error]
    then exits the process.

    Args:
        coro: Coroutine function to run.
        args: Positional arguments for `coro`.
        kwargs: Keyword arguments for `coro`.

    Returns:
        The running task. Must be called with an event loop running.
    """

    @functools.wraps(coro)
    async def _guard() -> None:
        try:
            await coro(*args, **kwargs)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception(
                f'Background task {coro.__qualname__} raised an exception.',
            )
            raise

    task = asyncio.create_task(_guard())
    task.add_done_callback(exit_on_error)
    return task


async def cancel_and_wait(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel the tasks, then wait for each to finish.

    What the tasks raise while they wind down (their cancellation or an
    error) is not propagated: the caller is shutting them down.
    """
    pending = list(tasks)
    for task in pending:
        task.cancel()
    for task in pending:
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
