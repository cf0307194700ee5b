"""Test-suite wide configuration.

Fixtures that start real servers live in `tests/fixtures/*.py`, one module
per medium, and are loaded here as plugins so every test directory can use
them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

pytest_plugins = [
    'tests.fixtures.local_file',
    'tests.fixtures.redis',
    'tests.fixtures.endpoint',
    'tests.fixtures.shm',
    'tests.fixtures.globus',
]


@pytest.fixture(autouse=True)
def _restore_root_logging() -> Iterator[None]:
    """Undo logging set-up done in-process (the CLIs configure the root).

    Without this, one CLI test leaves the root logger at INFO with extra
    handlers, and every later test sees records it did not ask for.
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
