"""Test-suite wide configuration.

Fixtures that start real servers live in `tests/fixtures/*.py`, one module
per medium, and are loaded here as plugins so every test directory can use
them.
"""

from __future__ import annotations

pytest_plugins = [
    'tests.fixtures.local_file',
    'tests.fixtures.redis',
    'tests.fixtures.endpoint',
    'tests.fixtures.shm',
    'tests.fixtures.globus',
]
