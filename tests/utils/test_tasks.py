from __future__ import annotations

import asyncio
import logging

import pytest

from proxystore.utils.tasks import SafeTaskExitError
from proxystore.utils.tasks import cancel_and_wait
from proxystore.utils.tasks import exit_on_error
from proxystore.utils.tasks import spawn_guarded_background_task


async def _settle(task: asyncio.Task[object]) -> None:
    await asyncio.wait([task])
    # Done-callbacks run on the next loop iteration.
    await asyncio.sleep(0)


@pytest.mark.timeout(10)
def test_failing_task_logs_and_exits(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def boom() -> None:
        raise KeyError('lost')

    async def main() -> None:
        task = spawn_guarded_background_task(boom)
        task.set_name('worker')
        await _settle(task)

    caplog.set_level(logging.ERROR, logger='proxystore.utils.tasks')
    with pytest.raises(SystemExit) as info:
        asyncio.run(main())
    assert info.value.code == 1
    messages = [r.getMessage() for r in caplog.records]
    assert any(
        'Exception in background task (name="worker"): KeyError(\'lost\')' in m
        for m in messages
    )
    # The traceback was logged too.
    assert any(r.exc_info is not None for r in caplog.records)


@pytest.mark.timeout(10)
def test_safe_exit_and_cancel_do_not_exit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def safe() -> None:
        raise SafeTaskExitError()

    async def forever(value: int, *, extra: int) -> None:
        assert (value, extra) == (1, 2)
        await asyncio.sleep(60)

    async def fine() -> None:
        return None

    async def main() -> None:
        safe_task = spawn_guarded_background_task(safe)
        await _settle(safe_task)
        done_task = spawn_guarded_background_task(fine)
        await _settle(done_task)
        long_task = spawn_guarded_background_task(forever, 1, extra=2)
        await asyncio.sleep(0)
        long_task.cancel()
        await _settle(long_task)
        assert long_task.cancelled()

    caplog.set_level(logging.ERROR, logger='proxystore.utils.tasks')
    asyncio.run(main())
    assert not any(
        'Exception in background task' in r.getMessage()
        for r in caplog.records
    )


def test_exit_on_error_direct() -> None:
    async def main() -> None:
        async def fail() -> None:
            raise RuntimeError('x')

        task = asyncio.create_task(fail())
        await asyncio.wait([task])
        with pytest.raises(SystemExit):
            exit_on_error(task)

    asyncio.run(main())


def test_cancel_and_wait_stops_every_task_and_swallows_their_errors() -> None:
    async def main() -> list[asyncio.Task[None]]:
        started = asyncio.Event()

        async def sleeper() -> None:
            started.set()
            await asyncio.sleep(3600)

        async def failer() -> None:
            raise ValueError('already failed')

        tasks = [asyncio.create_task(sleeper()), asyncio.create_task(failer())]
        await started.wait()
        await cancel_and_wait(tasks)
        return tasks

    first, second = asyncio.run(main())
    assert first.cancelled()
    assert isinstance(second.exception(), ValueError)
