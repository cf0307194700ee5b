"""Helpers shared by the ownership, scopes and executor tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from proxystore.store import Store
from proxystore.store.ref import MutableBorrowError
from proxystore.store.ref import mut_borrow
from proxystore.store.scopes import mark_refs_out_of_scope
from tests.helpers.files import stored_files


def wait_until(predicate: Callable[[], bool], timeout: float = 60) -> bool:
    """Poll `predicate`: clean-up after a remote task runs in a thread."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def store_becomes_empty(store: Store[Any]) -> bool:
    """Wait until a `FileConnector` store holds no object."""
    return wait_until(lambda: stored_files(store) == [])


def is_mutably_borrowable(owned: Any) -> bool:
    """Check that an owner has no borrows left (without keeping one)."""
    try:
        mark_refs_out_of_scope(mut_borrow(owned))
    except MutableBorrowError:
        return False
    return True
