"""Borrows scoped to submitted tasks (`proxystore.store.scopes`)."""

from __future__ import annotations

import threading
from concurrent.futures import Future
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from proxystore.store import Store
from proxystore.store.ref import ReferenceBorrowedError
from proxystore.store.ref import ReferenceInvalidError
from proxystore.store.ref import borrow
from proxystore.store.scopes import FutureWithCallback
from proxystore.store.scopes import mark_refs_out_of_scope
from proxystore.store.scopes import submit
from proxystore.store.utils import get_key
from tests.store._errors import find_in_chain
from tests.store._ownership_helpers import is_mutably_borrowable
from tests.store._ownership_helpers import wait_until


def remote_total(*values: Any, scale: Any = 1) -> int:
    return sum(sum(v) for v in values) * sum(scale)


def remote_fail(values: Any) -> None:
    raise ValueError(f'bad input of length {len(values)}')


def test_future_protocol() -> None:
    assert isinstance(Future(), FutureWithCallback)
    assert not isinstance(object(), FutureWithCallback)


def test_borrows_end_when_task_completes(
    file_store: Store[Any],
    spawn_pool: ProcessPoolExecutor,
) -> None:
    first = file_store.owned_proxy([1, 2])
    second = file_store.owned_proxy([3])
    factor = file_store.owned_proxy([2])
    future = submit(
        spawn_pool.submit,
        args=(remote_total, borrow(first), borrow(second)),
        kwargs={'scale': borrow(factor)},
    )
    assert future.result() == 12
    for owned in (first, second, factor):
        assert wait_until(lambda o=owned: is_mutably_borrowable(o))


def test_borrows_end_when_task_fails(
    file_store: Store[Any],
    spawn_pool: ProcessPoolExecutor,
) -> None:
    owned = file_store.owned_proxy([1, 2, 3])
    future = submit(spawn_pool.submit, args=(remote_fail, borrow(owned)))
    with pytest.raises(ValueError, match='length 3'):
        future.result()
    assert wait_until(lambda: is_mutably_borrowable(owned))
    assert owned == [1, 2, 3]


def test_custom_refs_are_released(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2])
    nested = [borrow(owned)]
    temporary = file_store.owned_proxy([9])
    gate = threading.Event()
    with ThreadPoolExecutor(1) as pool:
        future = submit(
            pool.submit,
            args=(lambda refs: gate.wait() and sum(refs[0]), nested),
            # Only borrows count, as in ProxyStore: the rest is ignored.
            register_custom_refs=(*nested, temporary, 'not a ref'),
        )
        assert not is_mutably_borrowable(owned)  # The nested borrow holds.
        gate.set()
        assert future.result() == 3
    assert is_mutably_borrowable(owned)
    # The borrow ended and is invalid now; the owner passed is untouched.
    assert not object.__getattribute__(nested[0], '__proxy_valid__')
    with pytest.raises(BaseException) as info:
        len(nested[0])
    find_in_chain(info.value, ReferenceInvalidError)
    assert file_store.exists(get_key(temporary))
    assert temporary == [9]


def test_failed_submission_keeps_borrows(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1])
    ref = borrow(owned)

    def broken_submit(*args: Any) -> Future[Any]:
        raise RuntimeError('executor is down')

    with pytest.raises(RuntimeError, match='executor is down'):
        submit(broken_submit, args=(sum, ref))
    # The caller still holds its borrow; nothing was released or evicted.
    with pytest.raises(ReferenceBorrowedError):
        mark_refs_out_of_scope(owned)
    mark_refs_out_of_scope(ref)
    assert owned == [1]


def test_mark_refs_out_of_scope_rejects_other_values(
    file_store: Store[Any],
) -> None:
    owned = file_store.owned_proxy([1])
    ref = borrow(owned)
    with pytest.raises(TypeError, match='RefProxy'):
        mark_refs_out_of_scope(ref, [1])
    # References before the bad value were released.
    assert is_mutably_borrowable(owned)
