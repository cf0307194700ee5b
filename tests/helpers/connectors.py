"""Helpers for the tests of specific connectors.

`key_operations` lists every operation that takes a key. `kill_mid_write`
runs a writer in a spawned process and sends it `SIGKILL` as soon as a
partial write shows up in the medium (for connectors that write to a
hidden temporary file, `partial_temp_file` tells).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections.abc import Callable
from typing import Any

_DEADLINE_S = 60


def key_operations(connector: Any, key: Any) -> list[Callable[[], Any]]:
    """Every connector operation that takes an existing key."""
    return [
        lambda: connector.get(key),
        lambda: connector.exists(key),
        lambda: connector.evict(key),
        lambda: connector.set(key, b'overwrite'),
        lambda: connector.get_batch([key]),
    ]


def write_zeros(
    kind: type[Any], config: dict[str, Any], key: Any, size: int
) -> None:
    """Write `size` zero bytes with `put` (`key is None`) or `set(key)`.

    Runs in the spawned writer process.
    """
    connector = kind.from_config(config)
    data = memoryview(bytearray(size))
    if key is None:
        connector.put(data)
    else:
        connector.set(key, data)


def partial_temp_file(directory: str, size: int) -> bool:
    """Whether `directory` holds a hidden file of 1 to `size - 1` bytes."""
    for name in os.listdir(directory):
        if name.startswith('.'):
            try:
                written = os.path.getsize(os.path.join(directory, name))
            except FileNotFoundError:
                continue
            if 0 < written < size:
                return True
    return False


def kill_mid_write(
    connector: Any,
    key: Any,
    size: int,
    writing: Callable[[], bool],
) -> None:
    """Start a writer of `size` bytes and `SIGKILL` it mid-write.

    Args:
        connector: Connector whose `config()` the writer rebuilds.
        key: Key for `set()`, or `None` to `put()`.
        size: Object size; large enough that the write takes a while.
        writing: Whether part of the object has reached the medium.
    """
    context = multiprocessing.get_context('spawn')
    process = context.Process(
        target=write_zeros,
        args=(type(connector), connector.config(), key, size),
    )
    process.start()
    try:
        deadline = time.monotonic() + _DEADLINE_S
        while not writing():
            assert process.is_alive(), 'writer finished before being killed'
            assert time.monotonic() < deadline
            time.sleep(0.0005)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.join()
    assert process.exitcode == -signal.SIGKILL
