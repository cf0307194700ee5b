"""Ownership rules of `proxystore.store.ref`, locally and across processes."""

from __future__ import annotations

import gc
import os
import pickle
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy
from proxystore.proxy import ProxyResolveError
from proxystore.proxy import extract
from proxystore.proxy import is_resolved
from proxystore.serialize import deserialize
from proxystore.store import Store
from proxystore.store.exceptions import ProxyStoreFactoryError
from proxystore.store.ref import BaseRefProxyError
from proxystore.store.ref import MutableBorrowError
from proxystore.store.ref import OwnedProxy
from proxystore.store.ref import ReferenceBorrowedError
from proxystore.store.ref import ReferenceInvalidError
from proxystore.store.ref import ReferenceNotOwnedError
from proxystore.store.ref import RefMutProxy
from proxystore.store.ref import RefProxy
from proxystore.store.ref import borrow
from proxystore.store.ref import clone
from proxystore.store.ref import drop
from proxystore.store.ref import into_owned
from proxystore.store.ref import mut_borrow
from proxystore.store.ref import update
from proxystore.store.scopes import mark_refs_out_of_scope
from proxystore.store.scopes import submit
from proxystore.store.utils import get_key
from proxystore.store.utils import get_store_factory
from tests.store._connectors import DictConnector
from tests.store._connectors import EvictFailsConnector
from tests.store._errors import missing_key_error
from tests.store._ownership_helpers import is_mutably_borrowable
from tests.store._ownership_helpers import stored_files
from tests.store._ownership_helpers import wait_until
from tests.store._threads import run_in_threads

# --- functions run in spawned worker processes --------------------------


def remote_type_name(value: Any) -> str:
    return type(value).__name__


def remote_append_and_update(values: Any, item: Any) -> int:
    values.append(item)
    update(values)
    return len(values)


def remote_borrow(ref: Any) -> None:
    borrow(ref)


def remote_update(ref: Any) -> None:
    update(ref)


def remote_sum_and_drop(owned: Any) -> int:
    total = sum(owned)
    drop(owned)
    return total


def remote_owner_rules(owned: Any) -> list[str]:
    """Break each rule once in the worker, which owns the moved object."""
    errors = []
    ref = borrow(owned)
    attempts: list[Callable[[], Any]] = [
        lambda: drop(owned),
        lambda: mut_borrow(owned),
        lambda: update(ref),
        lambda: pickle.dumps(owned),
    ]
    for attempt in attempts:
        try:
            attempt()
        except BaseRefProxyError as e:
            errors.append(type(e).__name__)
    mark_refs_out_of_scope(ref)
    drop(owned)
    try:
        borrow(owned)
    except BaseRefProxyError as e:
        errors.append(type(e).__name__)
    return errors


def remote_every_error_path(
    owned: Any,
    plain: Any,
) -> list[tuple[str, str]]:
    """Hit every error path of the rules in the worker that owns `owned`."""
    outcomes: list[tuple[str, str]] = []

    def attempt(name: str, action: Callable[[], Any]) -> None:
        try:
            action()
        except Exception as e:
            outcomes.append((name, type(e).__name__))
        else:  # pragma: no cover
            outcomes.append((name, 'no error'))

    store = get_store_factory(owned).get_store()
    same_object = store.proxy_from_key(get_key(owned))
    shared = borrow(owned)
    attempt('borrow a borrow', lambda: borrow(shared))
    attempt('borrow a plain proxy', lambda: borrow(plain))
    attempt('drop a borrow', lambda: drop(shared))
    attempt('clone a borrow', lambda: clone(shared))
    attempt('update a plain proxy', lambda: update(plain))
    attempt('own without a store', lambda: OwnedProxy(SimpleFactory(1)))
    attempt('mut_borrow while shared', lambda: mut_borrow(owned))
    attempt('update through a RefProxy', lambda: update(shared))
    attempt('update a borrowed owner', lambda: update(owned))
    attempt('drop a borrowed owner', lambda: drop(owned))
    attempt('move a borrowed owner', lambda: pickle.dumps(owned))
    mark_refs_out_of_scope(shared)
    attempt('send an ended borrow', lambda: pickle.dumps(shared))
    exclusive = mut_borrow(owned)
    attempt('borrow while mutably borrowed', lambda: borrow(owned))
    attempt('clone while mutably borrowed', lambda: clone(owned))
    attempt('release a borrowed owner', lambda: mark_refs_out_of_scope(owned))
    mark_refs_out_of_scope(exclusive)
    attempt('update an ended borrow', lambda: update(exclusive))
    attempt('into_owned of an owner', lambda: into_owned(owned))
    attempt('into_owned of an owned object', lambda: into_owned(same_object))
    attempt('into_owned of a non-proxy', lambda: into_owned([1]))
    attempt(
        'into_owned of a foreign proxy',
        lambda: into_owned(Proxy(SimpleFactory(1))),
    )
    attempt('release a plain proxy', lambda: mark_refs_out_of_scope(plain))
    drop(owned)
    attempt('drop twice', lambda: drop(owned))
    attempt('borrow a dropped owner', lambda: borrow(owned))
    attempt('update a dropped owner', lambda: update(owned))
    attempt('clone a dropped owner', lambda: clone(owned))
    attempt('use a dropped owner', lambda: len(owned))
    return outcomes


def remote_wait_and_sum(values: Any, path: str) -> int:
    # Blocks until the test creates `path`, so the test controls ordering.
    while not os.path.exists(path):
        time.sleep(0.01)
    return sum(values)


# --- Store.owned_proxy and dropping ---------------------------------------


def test_owned_proxy_behaves_like_target(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2, 3])
    assert type(owned) is OwnedProxy
    assert isinstance(owned, list)
    assert owned == [1, 2, 3]
    assert file_store.exists(get_key(owned))


def test_collected_owner_evicts(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2, 3])
    other = file_store.owned_proxy('kept')
    key = get_key(owned)
    del owned
    gc.collect()
    assert not file_store.exists(key)
    assert file_store.exists(get_key(other))
    assert other == 'kept'


def test_drop_evicts_and_invalidates(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2, 3], populate_target=False)
    other = file_store.owned_proxy([4])
    key = get_key(owned)
    drop(owned)
    assert not file_store.exists(key)
    assert file_store.exists(get_key(other))
    with pytest.raises(ReferenceInvalidError, match='dropped'):
        drop(owned)
    with pytest.raises(ReferenceInvalidError):
        borrow(owned)
    # Use after drop fails loudly instead of reading stale data.
    with pytest.raises(ProxyResolveError) as info:
        len(owned)
    missing_key_error(info.value)


def test_drop_resets_a_resolved_owner(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2, 3])
    assert is_resolved(owned)
    drop(owned)
    assert not is_resolved(owned)
    with pytest.raises(ProxyResolveError) as info:
        owned.append(4)
    missing_key_error(info.value)


def test_drop_requires_an_owner(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2])
    ref = borrow(owned)
    plain = file_store.proxy([1])
    for not_owner in (ref, plain, [1, 2]):
        with pytest.raises(ReferenceNotOwnedError):
            drop(not_owner)  # type: ignore[arg-type]
    mark_refs_out_of_scope(ref)
    assert file_store.exists(get_key(owned))
    assert file_store.exists(get_key(plain))


@pytest.mark.parametrize('mutable', [False, True])
def test_cannot_drop_borrowed_owner(
    file_store: Store[Any],
    mutable: bool,
) -> None:
    owned = file_store.owned_proxy({'a': 1})
    ref = mut_borrow(owned) if mutable else borrow(owned)
    with pytest.raises(ReferenceBorrowedError, match='borrow'):
        drop(owned)
    # Nothing was evicted or invalidated.
    assert file_store.exists(get_key(owned))
    assert ref == {'a': 1}
    mark_refs_out_of_scope(ref)
    drop(owned)
    assert not file_store.exists(get_key(ref))


def test_collecting_borrowed_owner_is_deferred(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2, 3], populate_target=False)
    ref = borrow(owned)
    key = get_key(owned)
    del owned
    gc.collect()
    # The borrow keeps its owner alive: the object is still readable.
    assert file_store.exists(key)
    assert ref == [1, 2, 3]
    del ref
    gc.collect()
    assert not file_store.exists(key)


def test_ref_types_need_a_store_factory() -> None:
    with pytest.raises(ProxyStoreFactoryError):
        OwnedProxy(SimpleFactory([1]))  # type: ignore[arg-type]


# --- borrowing ------------------------------------------------------------


def test_many_shared_borrows(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2, 3])
    refs = [borrow(owned) for _ in range(3)]
    assert all(type(r) is RefProxy for r in refs)
    assert all(r == [1, 2, 3] for r in refs)
    # Populated from the resolved owner: the same object, no fetch.
    assert all(extract(r) is extract(owned) for r in refs)


def test_borrow_without_populating(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2, 3])
    ref = borrow(owned, populate_target=False)
    assert not is_resolved(ref)
    assert ref == [1, 2, 3]
    unresolved = file_store.owned_proxy([4], populate_target=False)
    assert not is_resolved(borrow(unresolved))


def test_mut_borrow_is_exclusive(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2, 3])
    ref_mut = mut_borrow(owned)
    assert type(ref_mut) is RefMutProxy
    with pytest.raises(MutableBorrowError, match='mutable borrow'):
        borrow(owned)
    with pytest.raises(MutableBorrowError, match='mutable borrow'):
        mut_borrow(owned)
    # The failed borrows changed nothing: the mutable borrow still works.
    ref_mut.append(4)
    assert owned == [1, 2, 3, 4]
    del ref_mut
    gc.collect()
    assert borrow(owned) == [1, 2, 3, 4]


def test_no_mut_borrow_while_shared(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1])
    first, second = borrow(owned), borrow(owned)
    with pytest.raises(MutableBorrowError, match='2 shared borrow'):
        mut_borrow(owned)
    mark_refs_out_of_scope(first)
    with pytest.raises(MutableBorrowError, match='1 shared borrow'):
        mut_borrow(owned)
    del second
    gc.collect()
    assert mut_borrow(owned) == [1]


@pytest.mark.parametrize('lend', [borrow, mut_borrow])
def test_borrow_requires_a_valid_owner(
    file_store: Store[Any],
    lend: Callable[..., Any],
) -> None:
    owned = file_store.owned_proxy([1])
    shared = borrow(owned)
    for not_owner in (shared, file_store.proxy([1]), [1]):
        with pytest.raises(ReferenceNotOwnedError):
            lend(not_owner)
    mark_refs_out_of_scope(shared)
    dropped = file_store.owned_proxy([2])
    drop(dropped)
    with pytest.raises(ReferenceInvalidError):
        lend(dropped)
    assert lend(owned) == [1]


def test_errors_share_a_base_class() -> None:
    for error in (
        MutableBorrowError,
        ReferenceBorrowedError,
        ReferenceInvalidError,
        ReferenceNotOwnedError,
    ):
        assert issubclass(error, BaseRefProxyError)


def test_concurrent_borrows_keep_counts(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1])

    def lend_and_release(_: int) -> None:
        for _ in range(200):
            mark_refs_out_of_scope(borrow(owned))

    run_in_threads(lend_and_release, 4)
    assert mut_borrow(owned) == [1]


# --- clone and into_owned -------------------------------------------------


def test_clone_is_a_new_independent_owner(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2])
    ref = borrow(owned)  # Reading while shared-borrowed is fine.
    copy = clone(owned)
    assert type(copy) is OwnedProxy
    assert get_key(copy) != get_key(owned)
    copy.append(3)
    assert copy == [1, 2, 3]
    assert owned == [1, 2]
    drop(copy)
    assert not file_store.exists(get_key(copy))
    assert file_store.exists(get_key(ref))


def test_clone_errors(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2])
    ref_mut = mut_borrow(owned)
    with pytest.raises(MutableBorrowError):
        clone(owned)
    with pytest.raises(ReferenceNotOwnedError):
        clone(ref_mut)  # type: ignore[arg-type]
    mark_refs_out_of_scope(ref_mut)
    drop(owned)
    with pytest.raises(ReferenceInvalidError):
        clone(owned)


def test_into_owned_takes_ownership(file_store: Store[Any]) -> None:
    plain = file_store.proxy([1, 2, 3], populate_target=False)
    owned = into_owned(plain)
    assert type(owned) is OwnedProxy
    assert get_key(owned) == get_key(plain)
    assert owned == [1, 2, 3]
    del owned
    gc.collect()
    assert not file_store.exists(get_key(plain))


def test_into_owned_overrides_evict(file_store: Store[Any]) -> None:
    plain = file_store.proxy([1, 2, 3], evict=True)
    owned = into_owned(plain)
    assert extract(owned) is extract(plain)  # Populated: same target.
    ref = borrow(owned, populate_target=False)
    assert ref == [1, 2, 3]  # Resolving a borrow does not evict...
    mark_refs_out_of_scope(ref)
    assert file_store.exists(get_key(owned))
    drop(owned)  # ...only the owner does.
    assert not file_store.exists(get_key(plain))


def test_into_owned_future_proxy_still_waits(file_store: Store[Any]) -> None:
    future = file_store.future(polling_interval=0.01, polling_timeout=60)
    owned = into_owned(future.proxy())
    timer = threading.Timer(0.05, future.set_result, args=([1, 2],))
    timer.start()
    assert owned == [1, 2]  # Resolving polled until the result was set.
    timer.join()
    drop(owned)
    assert stored_files(file_store) == []


def test_into_owned_keeps_one_owner(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2])
    same_object = file_store.proxy_from_key(get_key(owned))
    with pytest.raises(ValueError, match='already has an OwnedProxy'):
        into_owned(same_object)
    assert borrow(owned) == [1, 2]  # The real owner is untouched.
    moved = pickle.loads(pickle.dumps(owned))
    with pytest.raises(ValueError, match='already has an OwnedProxy'):
        into_owned(same_object)
    drop(moved)
    # Once the object has no owner, a proxy of its key may take ownership
    # (of the now missing object).
    orphan = into_owned(same_object)
    with pytest.raises(ProxyResolveError) as info:
        len(orphan)
    missing_key_error(info.value)


def test_into_owned_errors(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1])
    ref = borrow(owned)
    for ref_proxy in (owned, ref):
        with pytest.raises(
            ValueError,
            match='Only a base proxy can be converted into an owned proxy.',
        ):
            into_owned(ref_proxy)
    with pytest.raises(
        ProxyStoreFactoryError,
        match='The proxy must contain a factory with type StoreFactory.',
    ):
        into_owned(Proxy(SimpleFactory([1])))
    with pytest.raises(TypeError, match='Proxy'):
        into_owned([1])  # type: ignore[arg-type]
    mark_refs_out_of_scope(ref)
    drop(owned)  # The failures left the owner intact.


# --- update ---------------------------------------------------------------


def test_update_owner_writes_back(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2])
    owned.append(3)
    update(owned)
    file_store.cache.clear()
    assert file_store.get(get_key(owned)) == [1, 2, 3]
    assert file_store.proxy_from_key(get_key(owned)) == [1, 2, 3]


def test_update_through_mut_borrow(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1], populate_target=False)
    ref_mut = mut_borrow(owned)
    ref_mut.append(2)
    update(ref_mut)
    mark_refs_out_of_scope(ref_mut)
    assert owned == [1, 2]
    assert file_store.get(get_key(owned)) == [1, 2]


def test_update_rejects_shared_and_borrowed(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1])
    ref = borrow(owned)
    owned.append(2)  # A local change that must not be written.
    with pytest.raises(
        ReferenceNotOwnedError,
        match='Reference is an immutable borrow.',
    ):
        update(ref)
    with pytest.raises(
        ReferenceNotOwnedError,
        match='Reference is an immutable borrow.',
    ):
        update(file_store.proxy([5]))
    with pytest.raises(
        MutableBorrowError,
        match='OwnedProxy has been borrowed. Cannot mutate.',
    ):
        update(owned)
    mark_refs_out_of_scope(ref)
    ref_mut = mut_borrow(owned)
    with pytest.raises(MutableBorrowError, match='mutable borrow'):
        update(owned)
    file_store.cache.clear()
    assert file_store.get(get_key(owned)) == [1]
    mark_refs_out_of_scope(ref_mut)


def test_update_rejects_invalid_refs(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1])
    ref_mut = mut_borrow(owned)
    mark_refs_out_of_scope(ref_mut)
    with pytest.raises(ReferenceInvalidError, match='out of scope'):
        update(ref_mut)
    with pytest.raises(ReferenceNotOwnedError):
        update(file_store.proxy([1]))  # type: ignore[arg-type]
    drop(owned)
    with pytest.raises(ReferenceInvalidError):
        update(owned)


def test_update_bad_serializer_loses_nothing(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1])
    owned.append(2)
    with pytest.raises(TypeError, match='bytes'):
        update(owned, serializer=lambda obj: 'not bytes')  # type: ignore
    file_store.cache.clear()
    assert file_store.get(get_key(owned)) == [1]
    update(owned)
    file_store.cache.clear()
    assert file_store.get(get_key(owned)) == [1, 2]


def test_update_racing_a_get_leaves_no_stale_copy(
    file_store: Store[Any],
) -> None:
    owned = file_store.owned_proxy([1])
    key = get_key(owned)
    fetched, release = threading.Event(), threading.Event()

    def slow_deserialize(data: bytes) -> Any:
        fetched.set()
        release.wait(60)
        return deserialize(data)

    read: list[Any] = []
    reader = threading.Thread(
        target=lambda: read.append(
            file_store.get(key, deserializer=slow_deserialize),
        ),
    )
    reader.start()
    assert fetched.wait(60)  # The reader holds the old bytes.
    owned.append(2)
    update(owned)
    release.set()
    reader.join()
    assert read == [[1]]
    # What the reader fetched before the update was not cached.
    assert file_store.get(key) == [1, 2]


def test_update_needs_deferrable_connector(store_name: str) -> None:
    with Store(store_name, DictConnector()) as store:
        owned = store.owned_proxy([1])
        owned.append(2)
        with pytest.raises(NotImplementedError, match='DeferrableConnector'):
            update(owned)
        store.cache.clear()
        assert store.get(get_key(owned)) == [1]


def test_collection_failure_is_logged(
    store_name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with Store(store_name, EvictFailsConnector()) as store:
        owned = store.owned_proxy([1])
        other = store.owned_proxy([2], populate_target=False)
        key = get_key(owned)
        del owned
        gc.collect()  # No exception escapes the finalizer...
        assert 'garbage-collected owner' in caplog.text
        assert 'read-only medium' in caplog.text
        assert store.exists(key)  # ...and nothing else changed.
        assert other == [2]


# --- pickling: owners move, borrows arrive detached -----------------------


def test_pickling_owner_moves_it(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2])
    key = get_key(owned)
    moved = pickle.loads(pickle.dumps(owned))
    assert type(moved) is OwnedProxy
    with pytest.raises(ReferenceInvalidError, match='moved'):
        borrow(owned)
    with pytest.raises(ReferenceInvalidError, match='moved'):
        pickle.dumps(owned)
    del owned
    gc.collect()
    assert file_store.exists(key)  # The old owner gave up eviction.
    assert borrow(moved) == [1, 2]
    del moved
    gc.collect()
    assert not file_store.exists(key)


def test_cannot_move_borrowed_owner(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2])
    ref = borrow(owned)
    with pytest.raises(ReferenceBorrowedError, match='send a borrow'):
        pickle.dumps(owned)
    mark_refs_out_of_scope(ref)
    assert borrow(owned) == [1, 2]  # Still the owner.


def test_pickled_borrow_is_detached(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2])
    ref = borrow(owned)
    remote = pickle.loads(pickle.dumps(ref))
    assert type(remote) is RefProxy
    assert not is_resolved(remote)
    assert remote == [1, 2]
    with pytest.raises(ReferenceNotOwnedError):
        borrow(remote)
    del remote
    gc.collect()
    # Only the lender's borrow counts.
    with pytest.raises(MutableBorrowError):
        mut_borrow(owned)
    mark_refs_out_of_scope(ref)
    with pytest.raises(ReferenceInvalidError, match='out of scope'):
        pickle.dumps(ref)
    assert mut_borrow(owned) == [1, 2]


# --- mark_refs_out_of_scope ----------------------------------------------


def test_mark_refs_out_of_scope(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1])
    other = file_store.owned_proxy([2])
    ref, ref_mut = borrow(owned), mut_borrow(other)
    mark_refs_out_of_scope(ref, ref_mut)
    mark_refs_out_of_scope(ref, ref_mut)  # Already out of scope: skipped.
    held = mut_borrow(owned)
    assert held == [1]
    with pytest.raises(ReferenceBorrowedError):
        mark_refs_out_of_scope(owned)
    assert file_store.exists(get_key(owned))
    mark_refs_out_of_scope(other)  # Owners are dropped.
    assert not file_store.exists(get_key(other))
    mark_refs_out_of_scope(other)  # Already dropped: skipped.
    with pytest.raises(TypeError, match='out of scope'):
        mark_refs_out_of_scope(file_store.proxy([3]))


# --- across spawned processes ---------------------------------------------


def test_remote_shared_borrow(
    file_store: Store[Any],
    spawn_pool: ProcessPoolExecutor,
    tmp_path: Any,
) -> None:
    release = str(tmp_path / 'release')
    owned = file_store.owned_proxy(list(range(100)))
    ref = borrow(owned)
    future = submit(
        spawn_pool.submit, args=(remote_wait_and_sum, ref, release)
    )
    del ref
    with pytest.raises(MutableBorrowError):
        mut_borrow(owned)  # Still borrowed: the task has not finished.
    open(release, 'w').close()
    assert future.result() == sum(range(100))
    assert wait_until(lambda: is_mutably_borrowable(owned))
    assert (
        spawn_pool.submit(remote_type_name, borrow(owned)).result()
        == 'RefProxy'
    )


def test_remote_mut_borrow_update(
    file_store: Store[Any],
    spawn_pool: ProcessPoolExecutor,
) -> None:
    owned = file_store.owned_proxy([1, 2])
    assert owned == [1, 2]  # Resolved locally before the remote change.
    future = submit(
        spawn_pool.submit,
        args=(remote_append_and_update, mut_borrow(owned), 3),
    )
    assert future.result() == 3
    assert wait_until(lambda: is_mutably_borrowable(owned))
    # The borrow ended: the owner re-fetched the written-back value.
    assert owned == [1, 2, 3]


@pytest.mark.parametrize(
    ('function', 'lend', 'error'),
    [
        (remote_borrow, borrow, ReferenceNotOwnedError),
        (remote_update, borrow, ReferenceNotOwnedError),
    ],
)
def test_remote_rule_violations(
    file_store: Store[Any],
    spawn_pool: ProcessPoolExecutor,
    function: Callable[[Any], None],
    lend: Callable[[Any], Any],
    error: type[Exception],
) -> None:
    owned = file_store.owned_proxy([1, 2])
    future = submit(spawn_pool.submit, args=(function, lend(owned)))
    with pytest.raises(error):
        future.result()
    assert owned == [1, 2]
    assert file_store.get(get_key(owned)) == [1, 2]


def test_owner_moved_to_worker(
    file_store: Store[Any],
    spawn_pool: ProcessPoolExecutor,
) -> None:
    owned = file_store.owned_proxy([1, 2, 3])
    key = get_key(owned)
    assert spawn_pool.submit(remote_sum_and_drop, owned).result() == 6
    assert not file_store.exists(key)
    with pytest.raises(ReferenceInvalidError, match='moved'):
        borrow(owned)


def test_rules_hold_in_worker(
    file_store: Store[Any],
    spawn_pool: ProcessPoolExecutor,
) -> None:
    owned = file_store.owned_proxy([1, 2, 3])
    other = file_store.owned_proxy('untouched')
    key = get_key(owned)
    errors = spawn_pool.submit(remote_owner_rules, owned).result()
    assert errors == [
        'ReferenceBorrowedError',
        'MutableBorrowError',
        'ReferenceNotOwnedError',
        'ReferenceBorrowedError',
        'ReferenceInvalidError',
    ]
    assert not file_store.exists(key)  # The worker dropped it at the end.
    assert other == 'untouched'
    assert stored_files(file_store) == [get_key(other).filename]


def test_owner_collected_while_remote_borrow_runs(
    file_store: Store[Any],
    spawn_pool: ProcessPoolExecutor,
    tmp_path: Any,
) -> None:
    release = str(tmp_path / 'release')
    owned = file_store.owned_proxy(list(range(10)), populate_target=False)
    key = get_key(owned)
    future = submit(
        spawn_pool.submit,
        args=(remote_wait_and_sum, borrow(owned), release),
    )
    del owned
    gc.collect()
    assert file_store.exists(key)  # Deferred: the task still needs it.
    open(release, 'w').close()
    assert future.result() == 45
    assert wait_until(lambda: not file_store.exists(key))
    assert stored_files(file_store) == []


def test_every_error_path_in_a_worker(
    file_store: Store[Any],
    spawn_pool: ProcessPoolExecutor,
) -> None:
    owned = file_store.owned_proxy([1, 2, 3])
    plain = file_store.proxy('plain')
    bystander = file_store.owned_proxy({'kept': True})
    key = get_key(owned)
    outcomes = spawn_pool.submit(remote_every_error_path, owned, plain)
    assert outcomes.result() == [
        ('borrow a borrow', 'ReferenceNotOwnedError'),
        ('borrow a plain proxy', 'ReferenceNotOwnedError'),
        ('drop a borrow', 'ReferenceNotOwnedError'),
        ('clone a borrow', 'ReferenceNotOwnedError'),
        ('update a plain proxy', 'ReferenceNotOwnedError'),
        ('own without a store', 'ProxyStoreFactoryError'),
        ('mut_borrow while shared', 'MutableBorrowError'),
        ('update through a RefProxy', 'ReferenceNotOwnedError'),
        ('update a borrowed owner', 'MutableBorrowError'),
        ('drop a borrowed owner', 'ReferenceBorrowedError'),
        ('move a borrowed owner', 'ReferenceBorrowedError'),
        ('send an ended borrow', 'ReferenceInvalidError'),
        ('borrow while mutably borrowed', 'MutableBorrowError'),
        ('clone while mutably borrowed', 'MutableBorrowError'),
        ('release a borrowed owner', 'ReferenceBorrowedError'),
        ('update an ended borrow', 'ReferenceInvalidError'),
        ('into_owned of an owner', 'ValueError'),
        ('into_owned of an owned object', 'ValueError'),
        ('into_owned of a non-proxy', 'TypeError'),
        ('into_owned of a foreign proxy', 'ProxyStoreFactoryError'),
        ('release a plain proxy', 'TypeError'),
        ('drop twice', 'ReferenceInvalidError'),
        ('borrow a dropped owner', 'ReferenceInvalidError'),
        ('update a dropped owner', 'ReferenceInvalidError'),
        ('clone a dropped owner', 'ReferenceInvalidError'),
        ('use a dropped owner', 'ProxyResolveError'),
    ]
    # The owner moved to the worker, which dropped it at the end.
    with pytest.raises(ReferenceInvalidError, match='moved'):
        borrow(owned)
    assert not file_store.exists(key)
    # No failed attempt touched anything else.
    assert plain == 'plain'
    assert bystander == {'kept': True}
    assert sorted(stored_files(file_store)) == sorted(
        [get_key(plain).filename, get_key(bystander).filename],
    )
