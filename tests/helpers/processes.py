"""Processes that never outlive a test."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from multiprocessing.process import BaseProcess


@contextlib.contextmanager
def started(process: BaseProcess) -> Iterator[BaseProcess]:
    """Start `process`; kill it on the way out if it is still running."""
    process.start()
    try:
        yield process
    finally:
        if process.is_alive():
            process.kill()
            process.join()
