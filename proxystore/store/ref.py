"""Ownership and borrowing for store-backed proxies, with Rust-like rules.

An [`OwnedProxy`][proxystore.store.ref.OwnedProxy] is the single owner of
an object in a store: when the owner is dropped (explicitly with
[`drop()`][proxystore.store.ref.drop] or by garbage collection) the object
is evicted. The owner lends the object out as borrows:

* any number of shared borrows ([`RefProxy`][proxystore.store.ref.RefProxy],
  from [`borrow()`][proxystore.store.ref.borrow]), **or**
* exactly one mutable borrow
  ([`RefMutProxy`][proxystore.store.ref.RefMutProxy], from
  [`mut_borrow()`][proxystore.store.ref.mut_borrow]),

never both at once. A borrow ends when it is garbage collected or marked
out of scope
([`mark_refs_out_of_scope()`][proxystore.store.scopes.mark_refs_out_of_scope]).

An owner cannot be dropped while it is borrowed: an explicit
[`drop()`][proxystore.store.ref.drop] (or moving the owner by pickling it)
raises [`ReferenceBorrowedError`][proxystore.store.ref.ReferenceBorrowedError],
and because every borrow keeps its owner alive, garbage collection of a
borrowed owner is deferred until its last borrow ends; only then is the
object evicted.

Book-keeping is local to the process. Pickling an owner *moves* it: the
unpickled proxy becomes the owner and the local one becomes invalid (it will
not evict on collection). A pickled borrow arrives *detached*: it can be
read (and a mutable one updated) but the remote process cannot tell when the
borrow ends, so the lender must keep its local borrow alive until the remote
work is done, which is what [`submit()`][proxystore.store.scopes.submit]
does.
"""

from __future__ import annotations

import atexit
import copy
import dataclasses
import logging
import threading
import weakref
from typing import Any
from typing import Literal
from typing import TypeAlias
from typing import TypeVar

from proxystore.connectors.protocols import DeferrableConnector
from proxystore.proxy import Proxy
from proxystore.proxy import extract
from proxystore.proxy import is_resolved
from proxystore.store.exceptions import non_store_factory_error
from proxystore.store.factory import StoreFactory
from proxystore.store.registry import get_store as registered_store
from proxystore.store.types import SerializerT
from proxystore.store.utils import get_store_factory

T = TypeVar('T')

FactoryType: TypeAlias = StoreFactory[Any, T]
"""Type of the factory of a reference proxy."""

logger = logging.getLogger(__name__)

__all__ = [
    'BaseRefProxy',
    'BaseRefProxyError',
    'MutableBorrowError',
    'OwnedProxy',
    'RefMutProxy',
    'RefProxy',
    'ReferenceBorrowedError',
    'ReferenceInvalidError',
    'ReferenceNotOwnedError',
    'borrow',
    'clone',
    'drop',
    'into_owned',
    'mut_borrow',
    'update',
]


class BaseRefProxyError(Exception):
    """Base class for errors raised by the ownership rules."""


class MutableBorrowError(BaseRefProxyError):
    """A borrow or a write conflicts with the existing borrows.

    Raised for a mutable borrow while any borrow exists, a shared borrow
    while a mutable borrow exists, or a write through a shared borrow or
    to a borrowed owner.
    """


class ReferenceInvalidError(BaseRefProxyError):
    """The reference is no longer valid.

    The owner was dropped or moved (pickled), or the borrow ended.
    """


class ReferenceNotOwnedError(BaseRefProxyError):
    """The operation needs an owner but got a borrow or a plain proxy."""


class ReferenceBorrowedError(BaseRefProxyError):
    """The owner cannot be dropped or moved while it is borrowed."""


@dataclasses.dataclass(eq=False)
class _OwnerState:
    factory: StoreFactory[Any, Any]
    shared: int = 0
    mutable: bool = False
    status: Literal['owned', 'moved', 'dropped'] = 'owned'


@dataclasses.dataclass(eq=False)
class _BorrowState:
    mutable: bool
    # None while detached: received from another process, or never lent.
    owner: OwnedProxy[Any] | None = None
    released: bool = False
    # A borrow that left the process may have been written back remotely.
    sent: bool = False


# State lives beside the proxies, keyed by id(): attribute access on a proxy
# is forwarded to its target, so the proxy itself cannot carry it. A weakref
# finalizer removes the entry when the proxy dies, before its id is reused.
# The `__proxy_*__` properties of the classes expose it as attributes.
_STATES: dict[int, _OwnerState | _BorrowState] = {}
_FINALIZERS: dict[int, weakref.finalize[Any, Any]] = {}
# (store name, key) of every object owned in this process: one owner each.
_OWNED_KEYS: set[tuple[str, Any]] = set()
_LOCK = threading.RLock()


class _InvalidatedFactory(StoreFactory[Any, Any]):
    """Factory of a reference invalidated in this process.

    It keeps the key and configuration (so `get_key()` still works) but
    refuses to resolve.
    """

    def __init__(self, factory: StoreFactory[Any, Any], reason: str) -> None:
        super().__init__(
            factory.key,
            factory.store_config,
            evict=factory.evict,
            deserializer=factory.deserializer,
        )
        self.reason = reason
        self.original = factory

    def resolve(self) -> Any:
        """Refuse: the reference is invalid."""
        raise ReferenceInvalidError(self.reason)

    def __reduce__(self) -> Any:
        # A sent borrow may be sent again (engines may pickle twice).
        return self.original.__reduce__()


class BaseRefProxy(Proxy[T]):
    """Base class of the ownership-aware proxy types.

    Besides the [`Proxy`][proxystore.proxy.Proxy] interface, the
    reference state is readable and writable with `object.__getattribute__`
    and `object.__setattr__` (without resolving): `__proxy_valid__` on all
    types, `__proxy_ref_count__` and `__proxy_ref_mut_count__` on an
    [`OwnedProxy`][proxystore.store.ref.OwnedProxy], and `__proxy_owner__`
    on the borrows.

    Copying a reference is refused (`NotImplementedError`): use
    [`clone()`][proxystore.store.ref.clone] for a new owned copy.

    Raises:
        ProxyStoreFactoryError: If `factory` is not a
            [`StoreFactory`][proxystore.store.factory.StoreFactory].
    """

    __slots__ = ()

    def __init__(
        self,
        factory: StoreFactory[Any, T],
        *,
        cache_defaults: bool = False,
        target: T | None = None,
    ) -> None:
        if not isinstance(factory, StoreFactory):
            raise non_store_factory_error(factory)
        super().__init__(
            factory,
            cache_defaults=cache_defaults,
            target=target,
        )
        _track(self, factory)

    def __proxy_setstate__(self, state: Any) -> None:
        """Track an unpickled reference: a moved owner or detached borrow."""
        _track(self, get_store_factory(self))

    def __reduce_ex__(self, protocol: Any) -> Any:
        _on_pickle(self)
        reduced = super().__reduce_ex__(protocol)
        if _is_owner(self):
            # Moved: the unpickled copy owns the object now. A pickled
            # borrow stays usable here: engines (e.g., Dask) pickle and
            # inspect a task's arguments more than once, and the lender
            # keeps it until the task is done (see `scopes.submit()`).
            _invalidate_local(self, 'moved')
        return reduced

    def __copy__(self) -> Any:
        raise NotImplementedError(
            'Copy is not implemented for reference proxies: a copy would '
            'break the ownership rules. Use clone() to create a new owned '
            'copy of the object.',
        )

    def __deepcopy__(self, memo: Any) -> Any:
        raise NotImplementedError(
            'Deep copy is not implemented for reference proxies: a copy '
            'would break the ownership rules. Use clone() to create a new '
            'owned copy of the object.',
        )

    def __del__(self) -> None:
        """End this reference now (as when it is garbage collected)."""
        finalizer = _FINALIZERS.get(id(self))
        if finalizer is not None:
            finalizer()

    @property
    def __proxy_valid__(self) -> bool:
        """Whether this reference may still be used."""
        state = _STATES.get(id(self))
        if isinstance(state, _OwnerState):
            return state.status == 'owned'
        if isinstance(state, _BorrowState):
            return not state.released
        return False

    @__proxy_valid__.setter
    def __proxy_valid__(self, valid: bool) -> None:
        state = _STATES.get(id(self))
        if state is None or valid == self.__proxy_valid__:
            return
        if valid:
            raise ValueError('An invalidated reference cannot be revived.')
        with _LOCK:
            if isinstance(state, _OwnerState):
                _end_ownership(state, 'moved')
            else:
                # Like upstream: the owner's counts are the caller's job.
                state.released = True
                state.owner = None
        _invalidate_local(self, 'invalidated')


class _OwnerCounts:
    """The owner's borrow counts, as `OwnedProxy` attributes."""

    __slots__ = ()

    @property
    def __proxy_ref_count__(self) -> int:
        """Number of live shared borrows (`RefProxy`)."""
        return _owner_state_of(self).shared

    @__proxy_ref_count__.setter
    def __proxy_ref_count__(self, count: int) -> None:
        with _LOCK:
            _owner_state_of(self).shared = count

    @property
    def __proxy_ref_mut_count__(self) -> int:
        """Number of live mutable borrows (`RefMutProxy`, 0 or 1)."""
        return int(_owner_state_of(self).mutable)

    @__proxy_ref_mut_count__.setter
    def __proxy_ref_mut_count__(self, count: int) -> None:
        with _LOCK:
            _owner_state_of(self).mutable = count > 0


class _BorrowOwner:
    """The owner of a borrow, as a `RefProxy`/`RefMutProxy` attribute."""

    __slots__ = ()

    @property
    def __proxy_owner__(self) -> OwnedProxy[Any] | None:
        """The owner this borrow counts against (`None` if detached)."""
        state = _STATES.get(id(self))
        return state.owner if isinstance(state, _BorrowState) else None

    @__proxy_owner__.setter
    def __proxy_owner__(self, owner: OwnedProxy[Any] | None) -> None:
        state = _STATES.get(id(self))
        if isinstance(state, _BorrowState):
            with _LOCK:
                state.owner = owner


class OwnedProxy(_OwnerCounts, BaseRefProxy[T]):
    """The single owner of an object in a store.

    Dropping the owner (see [`drop()`][proxystore.store.ref.drop]) or
    letting it be garbage collected evicts the object; so does interpreter
    exit. Pickling the owner moves the ownership into the unpickled copy
    and invalidates this one.

    Create one with
    [`Store.owned_proxy()`][proxystore.store.base.Store.owned_proxy] or
    [`into_owned()`][proxystore.store.ref.into_owned]. The constructor
    matches [`Proxy`][proxystore.proxy.Proxy].

    Raises:
        ProxyStoreFactoryError: If `factory` is not a
            [`StoreFactory`][proxystore.store.factory.StoreFactory].
    """

    __slots__ = ()

    def __del__(self) -> None:
        """Evict the object now (as when the owner is garbage collected).

        Raises:
            RuntimeError: If the owner is still borrowed.
        """
        state = _STATES.get(id(self))
        if (
            isinstance(state, _OwnerState)
            and state.status == 'owned'
            and (state.mutable or state.shared > 0)
        ):
            raise RuntimeError(
                'Cannot safely delete OwnedProxy because there are '
                f'{state.shared} shared and {int(state.mutable)} mutable '
                'borrows of it alive.',
            )
        super().__del__()


class _Borrow(_BorrowOwner, BaseRefProxy[T]):
    __slots__ = ()

    def __init__(
        self,
        factory: StoreFactory[Any, T],
        *,
        cache_defaults: bool = False,
        owner: OwnedProxy[Any] | None = None,
        target: T | None = None,
    ) -> None:
        super().__init__(
            factory,
            cache_defaults=cache_defaults,
            target=target,
        )
        if owner is not None:
            _attach(self, owner, mutable=_kind(self) is RefMutProxy)


class RefProxy(_Borrow[T]):
    """A shared, read-only borrow of an [`OwnedProxy`][proxystore.store.ref.OwnedProxy].

    Create one with [`borrow()`][proxystore.store.ref.borrow], or pass
    `owner=` to count it as a borrow of that owner.
    """  # noqa: E501

    __slots__ = ()


class RefMutProxy(_Borrow[T]):
    """The exclusive, mutable borrow of an [`OwnedProxy`][proxystore.store.ref.OwnedProxy].

    Create one with [`mut_borrow()`][proxystore.store.ref.mut_borrow], or
    pass `owner=` to count it as the borrow of that owner; publish changes
    with [`update()`][proxystore.store.ref.update].
    """  # noqa: E501

    __slots__ = ()


_RefProxyBase = BaseRefProxy


def _is_owner(proxy: Any) -> bool:
    return _kind(proxy) is OwnedProxy


def _owner_state_of(proxy: Any) -> _OwnerState:
    state = _STATES.get(id(proxy))
    if not isinstance(state, _OwnerState):
        raise ReferenceInvalidError('This OwnedProxy is no longer tracked.')
    return state


def _invalidate_local(proxy: Proxy[Any], how: str) -> None:
    """Make any later use of this local instance raise."""
    factory = get_store_factory(proxy)
    if isinstance(factory, _InvalidatedFactory):
        return
    reason = (
        f'This {type(proxy).__name__} (key={factory.key}) was {how} and is '
        'no longer valid in this process'
        + (', likely because it was pickled.' if how == 'moved' else '.')
    )
    object.__setattr__(
        proxy,
        '__proxy_factory__',
        _InvalidatedFactory(factory, reason),
    )
    _unresolve(proxy)


def _kind(proxy: Any) -> type[Any] | None:
    # type() rather than isinstance(): isinstance() on a proxy may consult
    # the target's class and therefore resolve it.
    kind = type(proxy)
    for ref_type in (OwnedProxy, RefProxy, RefMutProxy):
        if issubclass(kind, ref_type):
            return ref_type
    return None


def _track(proxy: _RefProxyBase[Any], factory: StoreFactory[Any, Any]) -> None:
    """Register a new reference: an owner owns, a borrow starts detached."""
    kind = _kind(proxy)
    state: _OwnerState | _BorrowState
    with _LOCK:
        if kind is OwnedProxy:
            state = _OwnerState(factory)
            _OWNED_KEYS.add(_owned_key(factory))
        else:
            state = _BorrowState(mutable=kind is RefMutProxy)
        _STATES[id(proxy)] = state
        finalizer = weakref.finalize(proxy, _collect, id(proxy), state)
        # `_evict_owned_at_exit()` runs them at exit instead.
        finalizer.atexit = False
        _FINALIZERS[id(proxy)] = finalizer


def _owned_key(factory: StoreFactory[Any, Any]) -> tuple[str, Any]:
    return (factory.store_config.name, factory.key)


def _end_ownership(
    state: _OwnerState,
    status: Literal['moved', 'dropped'],
) -> None:
    with _LOCK:
        state.status = status
        _OWNED_KEYS.discard(_owned_key(state.factory))


def _owner_state(proxy: Any, message: str | None = None) -> _OwnerState:
    if _kind(proxy) is not OwnedProxy:
        raise ReferenceNotOwnedError(
            message or f'Expected an OwnedProxy, got {type(proxy).__name__}.',
        )
    state = _owner_state_of(proxy)
    if state.status != 'owned':
        raise ReferenceInvalidError(
            f'The OwnedProxy of key {state.factory.key!r} was '
            f'{state.status} and no longer owns its object.',
        )
    return state


def _borrow_state(proxy: Any) -> _BorrowState:
    state = _STATES.get(id(proxy))
    if not isinstance(state, _BorrowState):
        raise ReferenceInvalidError(
            f'This {type(proxy).__name__} is no longer tracked.',
        )
    if state.released:
        raise ReferenceInvalidError(
            f'This {type(proxy).__name__} is out of scope: its borrow ended.',
        )
    return state


def _describe_borrows(state: _OwnerState) -> str:
    if state.mutable:
        return 'a mutable borrow (RefMutProxy) exists'
    return f'{state.shared} shared borrow(s) (RefProxy) exist'


def _require_unborrowed(
    state: _OwnerState,
    error: type[BaseRefProxyError],
    action: str,
    advice: str = '',
) -> None:
    """Raise `error` if the owner is borrowed; `action` is what it refuses."""
    if state.mutable or state.shared > 0:
        raise error(
            f'Cannot {action} of key {state.factory.key!r} while '
            f'{_describe_borrows(state)}{advice}.',
        )


def _new_ref(
    kind: type[_RefProxyBase[T]],
    proxy: Proxy[T],
    populate_target: bool,
) -> Any:
    # Ownership, not the first resolve, decides when to evict.
    factory = get_store_factory(proxy)._copy(evict=False)
    if populate_target and is_resolved(proxy):
        return kind(factory, cache_defaults=True, target=extract(proxy))
    return kind(factory)


def _lend(
    owned: OwnedProxy[T],
    *,
    mutable: bool,
    populate_target: bool,
) -> Any:
    _check_lendable(owned, mutable=mutable)
    # Built outside the lock (it may create a store); only attached, and
    # so counted, if the owner can still lend it.
    ref = _new_ref(
        RefMutProxy if mutable else RefProxy, owned, populate_target
    )
    _attach(ref, owned, mutable=mutable)
    return ref


def _attach(ref: Any, owned: OwnedProxy[Any], *, mutable: bool) -> None:
    """Count `ref` as a borrow of `owned` (if the rules allow it)."""
    with _LOCK:
        state = _check_lendable(owned, mutable=mutable)
        if mutable:
            state.mutable = True
        else:
            state.shared += 1
        ref_state = _STATES[id(ref)]
        assert isinstance(ref_state, _BorrowState)
        ref_state.owner = owned


def _check_lendable(owned: OwnedProxy[Any], *, mutable: bool) -> _OwnerState:
    with _LOCK:
        state = _owner_state(owned, 'Only owned references can be borrowed.')
        if state.mutable:
            raise MutableBorrowError(
                'Proxy was already borrowed as mutable. '
                f'(key={state.factory.key}: {_describe_borrows(state)})',
            )
        if mutable and state.shared > 0:
            raise MutableBorrowError(
                'Proxy was already borrowed as immutable. '
                f'(key={state.factory.key}: {_describe_borrows(state)})',
            )
        return state


def borrow(
    proxy: OwnedProxy[T],
    *,
    populate_target: bool = True,
) -> RefProxy[T]:
    """Lend a shared, read-only borrow of an owned object.

    Args:
        proxy: The owner.
        populate_target: If the owner is resolved, give the borrow the same
            target (no fetch, `isinstance()` and `hash()` without resolving).

    Returns:
        A [`RefProxy`][proxystore.store.ref.RefProxy]; the owner is kept
        alive until the borrow ends.

    Raises:
        ReferenceNotOwnedError: If `proxy` is not an `OwnedProxy`.
        ReferenceInvalidError: If the owner was dropped or moved.
        MutableBorrowError: If the owner is mutably borrowed.
    """
    ref: RefProxy[T] = _lend(
        proxy,
        mutable=False,
        populate_target=populate_target,
    )
    return ref


def mut_borrow(
    proxy: OwnedProxy[T],
    *,
    populate_target: bool = True,
) -> RefMutProxy[T]:
    """Lend the exclusive, mutable borrow of an owned object.

    Args:
        proxy: The owner.
        populate_target: If the owner is resolved, give the borrow the same
            target, so in-place changes are seen by the owner right away.

    Returns:
        A [`RefMutProxy`][proxystore.store.ref.RefMutProxy]; the owner is
        kept alive until the borrow ends.

    Raises:
        ReferenceNotOwnedError: If `proxy` is not an `OwnedProxy`.
        ReferenceInvalidError: If the owner was dropped or moved.
        MutableBorrowError: If the owner is borrowed in any way.
    """
    ref: RefMutProxy[T] = _lend(
        proxy,
        mutable=True,
        populate_target=populate_target,
    )
    return ref


def clone(proxy: OwnedProxy[T]) -> OwnedProxy[T]:
    """Copy an owned object into a new object with a new owner.

    The copy is written to the same store under a new key and resolves to
    an independent object.

    Raises:
        ReferenceNotOwnedError: If `proxy` is not an `OwnedProxy`.
        ReferenceInvalidError: If the owner was dropped or moved.
        MutableBorrowError: If the owner is mutably borrowed (its value
            may be changing).
    """
    with _LOCK:
        state = _owner_state(proxy)
        if state.mutable:
            raise MutableBorrowError(
                f'Cannot clone the object of key {state.factory.key!r} '
                f'while a mutable borrow (RefMutProxy) exists.',
            )
    factory = state.factory
    store = factory.get_store()
    # The stored bytes are copied as they are (no deserialization).
    data = store.connector.get(factory.key)
    if data is None:
        raise ReferenceInvalidError(
            f'Cannot clone the object of key {factory.key}: it is no longer '
            f'in Store(name="{store.name}").',
        )
    new_key = store.connector.put(data)
    new_factory: StoreFactory[Any, T] = StoreFactory(
        new_key,
        factory.store_config,
        evict=factory.evict,
        deserializer=factory.deserializer,
    )
    new_factory._bind(store)
    default_class = object.__getattribute__(proxy, '__proxy_default_class__')
    default_hash = object.__getattribute__(proxy, '__proxy_default_hash__')
    owned: OwnedProxy[T] = OwnedProxy(new_factory)
    object.__setattr__(owned, '__proxy_default_class__', default_class)
    object.__setattr__(owned, '__proxy_default_hash__', default_hash)
    if is_resolved(proxy):
        owned.__proxy_wrapped__ = copy.deepcopy(extract(proxy))
    return owned


def into_owned(
    proxy: Proxy[T],
    *,
    populate_target: bool = True,
) -> OwnedProxy[T]:
    """Take ownership of the object behind a plain store proxy.

    The returned owner evicts the object when dropped, even if `proxy` was
    created with `evict=True` (the owner, not the first resolve, decides):
    the owner shares the proxy's factory, whose `evict` is set to `False`.

    Args:
        proxy: A plain proxy created by a store.
        populate_target: If `proxy` is resolved, give the owner the same
            target.

    Raises:
        ValueError: If `proxy` is already an `OwnedProxy`, `RefProxy` or
            `RefMutProxy`, or its object already has an owner in this
            process.
        ProxyStoreFactoryError: If `proxy` was not created by a store.
        TypeError: If `proxy` is not a proxy.
    """
    kind = _kind(proxy)
    if kind is not None:
        raise ValueError(
            'Only a base proxy can be converted into an owned proxy. Got '
            f'a {kind.__name__}.',
        )
    factory = get_store_factory(proxy)
    owned_key = _owned_key(factory)
    with _LOCK:
        if owned_key in _OWNED_KEYS:
            raise ValueError(
                f'The object of key {factory.key!r} already has an '
                f'OwnedProxy in this process; borrow from that owner.',
            )
        # Reserved now, so a concurrent into_owned() cannot also claim it.
        _OWNED_KEYS.add(owned_key)
    try:
        # As in ProxyStore, the owner shares the proxy's factory, which no
        # longer evicts on resolve (the owner decides).
        factory.evict = False
        owned: OwnedProxy[T]
        if populate_target and is_resolved(proxy):
            owned = OwnedProxy(
                factory,
                cache_defaults=True,
                target=extract(proxy),
            )
        else:
            owned = OwnedProxy(factory)
    except BaseException:
        with _LOCK:
            _OWNED_KEYS.discard(owned_key)
        raise
    return owned


def update(
    proxy: OwnedProxy[T] | RefMutProxy[T],
    *,
    serializer: SerializerT | None = None,
) -> None:
    """Write the current value of a proxy back to its store.

    The object keeps its key, so every later resolve of any proxy of it
    sees the new value. Needs a connector that can overwrite a key (a
    [`DeferrableConnector`][proxystore.connectors.protocols.DeferrableConnector]).

    An unresolved proxy has no local value to write: nothing is written.

    Args:
        proxy: The owner (not borrowed) or its mutable borrow.
        serializer: Optionally override the store's serializer.

    Raises:
        ReferenceNotOwnedError: If `proxy` is neither an `OwnedProxy` nor a
            `RefMutProxy` (e.g., a shared `RefProxy`).
        MutableBorrowError: If `proxy` is an owner that is currently
            borrowed.
        ReferenceInvalidError: If the owner was dropped or moved, or the
            mutable borrow ended.
        NotImplementedError: If the store's connector cannot overwrite.
    """  # noqa: E501
    kind = _kind(proxy)
    with _LOCK:
        if kind is OwnedProxy:
            state = _owner_state(proxy)
            if state.mutable or state.shared > 0:
                raise MutableBorrowError(
                    'OwnedProxy has been borrowed. Cannot mutate. '
                    f'(key={state.factory.key}: '
                    f'{_describe_borrows(state)})',
                )
        elif kind is RefMutProxy:
            _borrow_state(proxy)
        else:
            raise ReferenceNotOwnedError(
                'Reference is an immutable borrow. update() needs an '
                f'OwnedProxy or a RefMutProxy, got {type(proxy).__name__}.',
            )
    if not is_resolved(proxy):
        return  # Nothing was changed locally.
    factory = get_store_factory(proxy)
    store = factory.get_store()
    if not isinstance(store.connector, DeferrableConnector):
        raise NotImplementedError(
            f'update() overwrites the object in place, which needs a '
            f'DeferrableConnector; {type(store.connector).__name__} is not '
            f'one.',
        )
    store._set(factory.key, extract(proxy), serializer=serializer)


def drop(proxy: OwnedProxy[Any]) -> None:
    """Drop an owner now: evict its object and invalidate the owner.

    Garbage collection of an owner does the same; `drop()` makes it
    deterministic and checks the rules.

    Raises:
        ReferenceNotOwnedError: If `proxy` is not an `OwnedProxy`.
        ReferenceInvalidError: If the owner was already dropped or moved.
        ReferenceBorrowedError: If the owner is borrowed; nothing is
            evicted.
    """
    with _LOCK:
        state = _owner_state(proxy)
        _require_unborrowed(state, ReferenceBorrowedError, 'drop the owner')
        _end_ownership(state, 'dropped')
    _evict(state.factory)
    # Later use re-resolves and fails, rather than reading a stale copy.
    _unresolve(proxy)


def _release(state: _BorrowState) -> None:
    """End a borrow (idempotent); the owner may be collected afterwards."""
    with _LOCK:
        owner, state.owner = state.owner, None
        if state.released or owner is None:
            state.released = True
            return
        state.released = True
        owner_state = _STATES[id(owner)]
        assert isinstance(owner_state, _OwnerState)
        if state.mutable:
            owner_state.mutable = False
        else:
            owner_state.shared -= 1
    if state.mutable and state.sent:
        # The borrower may have written a new value back: drop the stale
        # local copies so the owner re-fetches on next use.
        factory = owner_state.factory
        factory.get_store()._uncache(factory.key)
        _unresolve(owner)


def _release_ref(proxy: Any) -> None:
    """End a borrow or drop an owner; used by `mark_refs_out_of_scope`."""
    kind = _kind(proxy)
    if kind is None:
        raise TypeError(
            'Only OwnedProxy, RefProxy and RefMutProxy can go out of scope, '
            f'got {type(proxy).__name__}.',
        )
    state = _STATES.get(id(proxy))
    if isinstance(state, _BorrowState):
        with _LOCK:
            if state.released:
                return  # Already out of scope (e.g., listed twice).
            if state.owner is None:
                raise RuntimeError(
                    f'This {type(proxy).__name__} (key={_key_of(proxy)}) '
                    'has no reference to its owner: it was received from '
                    'another process (detached), so only its lender can '
                    'mark it out of scope.',
                )
        _release(state)
        _invalidate_local(proxy, 'marked out of scope')
    elif isinstance(state, _OwnerState) and state.status == 'owned':
        drop(proxy)


def _key_of(proxy: Proxy[Any]) -> Any:
    """Key of a reference proxy (without resolving it)."""
    return get_store_factory(proxy).key


def _on_pickle(proxy: Any) -> None:
    with _LOCK:
        if _kind(proxy) is OwnedProxy:
            state = _owner_state(proxy)
            _require_unborrowed(
                state,
                ReferenceBorrowedError,
                'move (pickle) the owner',
                '; send a borrow instead',
            )
            _end_ownership(state, 'moved')
        else:
            _borrow_state(proxy).sent = True


def _collect(proxy_id: int, state: _OwnerState | _BorrowState) -> None:
    """Finalizer of a collected reference: end the borrow or evict."""
    with _LOCK:
        if _STATES.get(proxy_id) is state:
            del _STATES[proxy_id]
            _FINALIZERS.pop(proxy_id, None)
    try:
        if isinstance(state, _BorrowState):
            _release(state)
        elif state.status == 'owned':
            _end_ownership(state, 'dropped')
            _evict(state.factory, create=not _AT_EXIT)
    except Exception:
        # Raising from a finalizer would only print a traceback somewhere.
        logger.warning(
            'Failed to clean up a garbage-collected %s',
            'borrow' if isinstance(state, _BorrowState) else 'owner',
            exc_info=True,
        )


def _evict(factory: StoreFactory[Any, Any], *, create: bool = True) -> None:
    if create:
        factory.get_store().evict(factory.key)
        return
    # At exit: only through a store that is still open (none is created).
    store = factory._store
    if store is None or store.closed:
        store = registered_store(factory.store_config.name)
    if store is not None and not store.closed:
        store.evict(factory.key)


_AT_EXIT = False


def _evict_owned_at_exit() -> None:
    """Evict the objects of every owner still alive at interpreter exit."""
    global _AT_EXIT
    _AT_EXIT = True
    for finalizer in list(_FINALIZERS.values()):
        # detach(), not a call: calls do nothing once weakref's own exit
        # hook ran.
        detached = finalizer.detach()
        if detached is not None:
            _, function, args, _ = detached
            function(*args)


# The finalizers themselves do not run at exit (atexit=False): this hook
# does, in one known order, after later-registered hooks (e.g., the
# StaticLifetime's) ran.
atexit.register(_evict_owned_at_exit)


def _unresolve(proxy: Proxy[Any]) -> None:
    del proxy.__proxy_wrapped__
