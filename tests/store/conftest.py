"""Fixtures shared by the Store tests."""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.local import LocalConnector
from proxystore.store import Store
from proxystore.store import _stores
from proxystore.store import unregister_store


@pytest.fixture(scope='session')
def spawn_pool() -> Iterator[ProcessPoolExecutor]:
    """Pool of spawned worker processes (fresh interpreters).

    Workers outlive single tests, so every test uses unique store names.
    """
    context = multiprocessing.get_context('spawn')
    with ProcessPoolExecutor(max_workers=2, mp_context=context) as pool:
        yield pool


@pytest.fixture
def store_name() -> str:
    return f'store-{uuid.uuid4().hex[:10]}'


@pytest.fixture
def file_store(tmp_path: Any, store_name: str) -> Iterator[Store[Any]]:
    with Store(store_name, FileConnector(str(tmp_path / 'store'))) as store:
        yield store


@pytest.fixture
def local_store(store_name: str) -> Iterator[Store[Any]]:
    with Store(store_name, LocalConnector()) as store:
        yield store


@pytest.fixture(autouse=True)
def _empty_registry() -> Iterator[None]:
    """Leave no store registered after a test."""
    yield
    for name in list(_stores):
        unregister_store(name)
