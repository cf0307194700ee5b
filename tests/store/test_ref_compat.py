"""Reference proxies behave as in ProxyStore (COMPAT RF1-RF13, SC1)."""

from __future__ import annotations

import copy
import pathlib
import pickle
from typing import Any

import pytest

from proxystore.proxy import extract
from proxystore.proxy import get_factory
from proxystore.proxy import is_resolved
from proxystore.store import Store
from proxystore.store.factory import StoreFactory
from proxystore.store.ref import BaseRefProxy
from proxystore.store.ref import MutableBorrowError
from proxystore.store.ref import OwnedProxy
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
from proxystore.store.utils import get_key
from tests.helpers.scripts import run_python
from tests.store._errors import find_in_chain
from tests.store._ownership_helpers import stored_files


def attr(proxy: Any, name: str) -> Any:
    return object.__getattribute__(proxy, name)


def test_base_ref_proxy_is_public() -> None:
    for kind in (OwnedProxy, RefProxy, RefMutProxy):
        assert issubclass(kind, BaseRefProxy)


def test_reference_state_attributes(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1, 2])
    assert attr(owned, '__proxy_valid__') is True
    assert attr(owned, '__proxy_ref_count__') == 0
    assert attr(owned, '__proxy_ref_mut_count__') == 0
    first, second = borrow(owned), borrow(owned)
    assert attr(owned, '__proxy_ref_count__') == 2
    assert attr(first, '__proxy_owner__') is owned
    assert attr(first, '__proxy_valid__') is True
    # Upstream-style manual bookkeeping works through the attributes.
    object.__setattr__(owned, '__proxy_ref_count__', 1)
    object.__setattr__(second, '__proxy_owner__', None)
    object.__setattr__(second, '__proxy_valid__', False)
    assert attr(owned, '__proxy_ref_count__') == 1
    assert attr(second, '__proxy_valid__') is False
    with pytest.raises(BaseException) as info:
        len(second)
    find_in_chain(info.value, ReferenceInvalidError)
    mark_refs_out_of_scope(first, first)  # A duplicate is skipped.
    assert attr(owned, '__proxy_ref_count__') == 0
    assert attr(first, '__proxy_owner__') is None
    ref_mut = mut_borrow(owned)
    assert attr(owned, '__proxy_ref_mut_count__') == 1
    mark_refs_out_of_scope(ref_mut)
    assert attr(owned, '__proxy_ref_mut_count__') == 0
    assert owned == [1, 2]


def test_borrows_take_an_owner(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy('value')
    factory = get_factory(owned)
    ref = RefProxy(factory, owner=owned)
    assert attr(owned, '__proxy_ref_count__') == 1
    assert attr(ref, '__proxy_owner__') is owned
    with pytest.raises(MutableBorrowError, match='borrowed as immutable'):
        RefMutProxy(factory, owner=owned)
    assert attr(owned, '__proxy_ref_mut_count__') == 0
    mark_refs_out_of_scope(ref)
    ref_mut = RefMutProxy(factory, owner=owned)
    assert attr(owned, '__proxy_ref_mut_count__') == 1
    with pytest.raises(MutableBorrowError, match='borrowed as mutable'):
        RefProxy(factory, owner=owned)
    mark_refs_out_of_scope(ref_mut)
    assert owned == 'value'


@pytest.mark.parametrize('kind', ['owned', 'ref', 'ref_mut'])
def test_copying_a_reference_is_refused(
    file_store: Store[Any],
    kind: str,
) -> None:
    owned = file_store.owned_proxy([1])
    proxy = {
        'owned': lambda: owned,
        'ref': lambda: borrow(owned),
        'ref_mut': lambda: mut_borrow(owned),
    }[kind]()
    with pytest.raises(NotImplementedError, match='^Copy is not implemented'):
        copy.copy(proxy)
    with pytest.raises(
        NotImplementedError,
        match='^Deep copy is not implemented',
    ) as info:
        copy.deepcopy(proxy)
    assert 'clone()' in str(info.value)
    assert stored_files(file_store) == [get_key(owned).filename]


def test_pickling_an_owner_invalidates_the_local_one(
    file_store: Store[Any],
) -> None:
    owned = file_store.owned_proxy([1, 2, 3])
    key = get_key(owned)
    moved = pickle.loads(pickle.dumps(owned))
    assert attr(owned, '__proxy_valid__') is False
    assert not is_resolved(owned)
    with pytest.raises(BaseException) as info:
        len(owned)
    error = find_in_chain(info.value, ReferenceInvalidError)
    assert 'pickled' in str(error)
    assert get_key(owned) == key  # The key is still known.
    # The unpickled copy is a valid, unresolved owner with the defaults.
    assert type(moved) is OwnedProxy
    assert attr(moved, '__proxy_valid__') is True
    assert not is_resolved(moved)
    assert attr(moved, '__proxy_default_class__') is list
    assert moved == [1, 2, 3]
    drop(moved)
    assert not file_store.exists(key)


def test_borrow_and_update_error_texts(file_store: Store[Any]) -> None:
    plain = file_store.proxy([1])
    with pytest.raises(
        ReferenceNotOwnedError,
        match='^Only owned references can be borrowed.',
    ):
        borrow(plain)  # type: ignore[arg-type]
    owned = file_store.owned_proxy([1])
    ref = borrow(owned)
    with pytest.raises(
        ReferenceNotOwnedError,
        match='^Reference is an immutable borrow.',
    ):
        update(ref)  # type: ignore[arg-type]
    mark_refs_out_of_scope(ref)
    assert file_store.get(get_key(owned)) == [1]


def test_update_of_an_unresolved_proxy_writes_nothing(
    file_store: Store[Any],
) -> None:
    owned = file_store.owned_proxy([1], populate_target=False)
    data = file_store.connector.get(get_key(owned))
    update(owned)
    assert not is_resolved(owned)
    assert file_store.connector.get(get_key(owned)) == data


def test_clone_copies_bytes_and_resolved_target(
    file_store: Store[Any],
) -> None:
    owned = file_store.owned_proxy({'a': [1]})
    copied = clone(owned)
    assert type(copied) is OwnedProxy
    assert get_key(copied) != get_key(owned)
    assert bytes(file_store.connector.get(get_key(copied))) == bytes(
        file_store.connector.get(get_key(owned)),
    )
    # The resolved target was deep-copied, and the defaults came along.
    assert is_resolved(copied)
    assert extract(copied) == {'a': [1]}
    assert extract(copied) is not extract(owned)
    assert extract(copied)['a'] is not extract(owned)['a']
    assert attr(copied, '__proxy_default_class__') is dict
    source_factory = get_factory(owned)
    copy_factory = get_factory(copied)
    assert isinstance(copy_factory, StoreFactory)
    assert copy_factory.evict == source_factory.evict
    assert copy_factory.deserializer is source_factory.deserializer
    unresolved = file_store.owned_proxy([5], populate_target=False)
    assert not is_resolved(clone(unresolved))


def test_into_owned_shares_the_factory(file_store: Store[Any]) -> None:
    plain = file_store.proxy('value', evict=True, populate_target=False)
    factory = get_factory(plain)
    owned = into_owned(plain)
    assert get_factory(owned) is factory
    assert factory.evict is False
    assert plain == 'value'
    assert file_store.exists(get_key(owned))  # Resolving no longer evicts.
    drop(owned)
    assert not file_store.exists(get_key(plain))


def test_del_evicts_and_refuses_while_borrowed(file_store: Store[Any]) -> None:
    owned = file_store.owned_proxy([1])
    key = get_key(owned)
    ref = borrow(owned)
    with pytest.raises(RuntimeError, match='^Cannot safely delete OwnedProxy'):
        owned.__del__()
    assert file_store.exists(key)
    mark_refs_out_of_scope(ref)
    owned.__del__()
    assert not file_store.exists(key)


def test_detached_borrow_cannot_be_marked_out_of_scope(
    file_store: Store[Any],
) -> None:
    owned = file_store.owned_proxy([1])
    ref = borrow(owned)
    detached = pickle.loads(pickle.dumps(ref))
    assert attr(detached, '__proxy_owner__') is None
    with pytest.raises(RuntimeError, match='no reference to its owner'):
        mark_refs_out_of_scope(detached)
    assert detached == [1]
    mark_refs_out_of_scope(ref)


OWNED_AT_EXIT = """
import pathlib
from proxystore.connectors.file import FileConnector
from proxystore.store import Store

store = Store('owned-at-exit', FileConnector('store', clear=False))
owned = store.owned_proxy('value')
kept = store.proxy('kept')
pathlib.Path('keys').write_text(
    f'{owned.__proxy_factory__.key.filename}\\n'
    f'{kept.__proxy_factory__.key.filename}\\n',
)
"""


def test_owned_objects_are_evicted_at_exit(tmp_path: pathlib.Path) -> None:
    script = tmp_path / 'owned.py'
    script.write_text(OWNED_AT_EXIT)
    run_python(script, cwd=tmp_path)
    owned_file, kept_file = (tmp_path / 'keys').read_text().split()
    assert not (tmp_path / 'store' / owned_file).exists()
    assert (tmp_path / 'store' / kept_file).exists()
