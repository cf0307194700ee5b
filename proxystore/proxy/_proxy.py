"""The transparent lazy proxy."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any
from typing import Generic
from typing import TypeAlias
from typing import TypeVar

from proxystore.proxy._cbase import CProxy
from proxystore.proxy._cbase import clear_target
from proxystore.proxy._cbase import del_own_attr
from proxystore.proxy._cbase import get_target
from proxystore.proxy._cbase import get_target_attr
from proxystore.proxy._cbase import has_target
from proxystore.proxy._cbase import set_c_factory
from proxystore.proxy._cbase import set_own_attr
from proxystore.proxy._cbase import set_target
from proxystore.proxy._resolver import Resolver

T = TypeVar('T')

# Names every proxy answers itself instead of forwarding to the target.
_BASE_OWN_NAMES = frozenset(
    {
        '__class__',
        '__copy__',
        '__deepcopy__',
        '__orig_class__',
        '__reduce__',
        '__reduce_ex__',
        '__weakref__',
    },
)


def _is_own_name(name: str) -> bool:
    """Whether a name defined in a proxy class body belongs to the proxy.

    Dunder names other than `__proxy_*__` are special methods that forward
    to the target (so that `hasattr(p, '__next__')` reflects the target).
    """
    is_dunder = name.startswith('__') and name.endswith('__')
    return not is_dunder or name.startswith('__proxy_')


def _own_names(cls: type) -> frozenset[str]:
    names = set(_BASE_OWN_NAMES)
    for klass in cls.__mro__:
        if issubclass(klass, Proxy):
            names.update(n for n in vars(klass) if _is_own_name(n))
    return frozenset(names)


def _make_attribute_hooks(
    own: frozenset[str],
) -> tuple[
    Callable[[Any, str], Any],
    Callable[[Any, str, Any], None],
    Callable[[Any, str], None],
]:
    """Build `__getattribute__`, `__setattr__`, `__delattr__` for a class.

    The C base looks attributes up on the proxy first and forwards only
    after an `AttributeError`, which makes every forwarded access pay for
    raising and clearing an exception. These hooks test the name against
    the class's own names (a set lookup) and otherwise forward directly.
    """
    object_getattribute = object.__getattribute__

    def __getattribute__(self: Any, name: str) -> Any:
        if name in own:
            return object_getattribute(self, name)
        return get_target_attr(self, name)

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if name in own:
            _check_defined(self, name)
            set_own_attr(self, name, value)
        else:
            setattr(get_target(self), name, value)

    def __delattr__(self: Any, name: str) -> None:
        if name in own:
            _check_defined(self, name)
            del_own_attr(self, name)
        else:
            delattr(get_target(self), name)

    return __getattribute__, __setattr__, __delattr__


def _check_defined(proxy: Any, name: str) -> None:
    # The C setattr forwards names its type lacks to the target; an own
    # name must never reach the target (nor resolve the proxy).
    if not hasattr(type(proxy), name):
        raise AttributeError(
            f'{type(proxy).__name__!r} object has no attribute {name!r}',
        )


def _install_attribute_hooks(cls: type) -> None:
    getattribute, setattr_, delattr_ = _make_attribute_hooks(_own_names(cls))
    type.__setattr__(cls, '__getattribute__', getattribute)
    type.__setattr__(cls, '__setattr__', setattr_)
    type.__setattr__(cls, '__delattr__', delattr_)


def _init_proxy(
    proxy: Proxy[Any],
    factory: Callable[[], Any],
    default_class: type | None,
    default_hash: int | None,
) -> None:
    resolver = Resolver(factory, proxy)
    _set_resolver(proxy, resolver)
    set_c_factory(proxy, resolver)
    _set_default_class(proxy, default_class)
    _set_default_hash(proxy, default_hash)


def _rebuild_proxy(
    cls: type[Proxy[Any]],
    factory: Callable[[], Any],
    default_class: type | None,
    default_hash: int | None,
    state: Any,
) -> Proxy[Any]:
    """Unpickle a proxy: same class and factory, unresolved."""
    proxy = cls.__new__(cls)
    _init_proxy(proxy, factory, default_class, default_hash)
    proxy.__proxy_setstate__(state)
    return proxy


class Proxy(CProxy, Generic[T]):  # type: ignore[misc]
    """Lazy, transparent proxy of the object produced by a factory.

    The first operation that needs the target calls `factory()` (exactly
    once, even under concurrent access from several threads) and keeps the
    result; every operation is then forwarded to the target. `type(p)` is
    `Proxy` but `isinstance(p, T)` and `p.__class__` report the target's
    class. Pickling a proxy pickles only its factory (and cached defaults);
    the unpickled proxy is unresolved.

    Args:
        factory: Callable with no arguments that returns the target,
            typically a [`Factory`][proxystore.factory.Factory].
        cache_defaults: Record the target's class and hash (if hashable) so
            that `isinstance()` and `hash()` work without resolving, also
            after pickling. Resolves the proxy now if `target` is not given.
        target: Pre-populate the proxy with its target (already resolved).

    Raises:
        TypeError: If `factory` is not callable.
    """

    __module__ = 'proxystore.proxy'
    __slots__ = (
        '__proxy_default_class__',
        '__proxy_default_hash__',
        '_proxy_resolver',
        '__weakref__',
    )

    def __init__(
        self,
        factory: Callable[[], T],
        *,
        cache_defaults: bool = False,
        target: T | None = None,
    ) -> None:
        if not callable(factory):
            raise TypeError(
                f'factory must be callable, got {type(factory).__name__}',
            )
        _init_proxy(self, factory, None, None)
        if target is not None:
            set_target(self, target)
        if cache_defaults:
            obj = get_target(self)
            _set_default_class(self, obj.__class__)
            _set_default_hash(self, _hash_or_none(obj))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        _install_attribute_hooks(cls)

    @property
    def __proxy_factory__(self) -> Callable[[], T]:
        """The factory that produces the target."""
        return _get_resolver(self).factory  # type: ignore[no-any-return]

    @property
    def __proxy_resolved__(self) -> bool:
        """Whether the target is present (never resolves)."""
        return has_target(self)

    @property
    def __proxy_target__(self) -> T | None:
        """The target if resolved, else `None` (never resolves)."""
        return get_target(self) if has_target(self) else None

    @__proxy_target__.setter
    def __proxy_target__(self, target: T) -> None:
        set_target(self, target)

    @property
    def __proxy_wrapped__(self) -> T:
        """The target, resolving the proxy first if needed.

        Assigning sets the target; deleting it makes the proxy unresolved
        so that the next use calls the factory again.
        """
        return get_target(self)  # type: ignore[no-any-return]

    @__proxy_wrapped__.setter
    def __proxy_wrapped__(self, target: T) -> None:
        set_target(self, target)

    @__proxy_wrapped__.deleter
    def __proxy_wrapped__(self) -> None:
        resolver = _get_resolver(self)
        with resolver.lock:
            clear_target(self)
            resolver.handed_out = False

    def __proxy_getstate__(self) -> Any:
        """Extra state a subclass wants pickled (default: `None`).

        Whatever this returns is passed to
        [`__proxy_setstate__()`][proxystore.proxy.Proxy.__proxy_setstate__]
        of the unpickled proxy.
        """
        return None

    def __proxy_setstate__(self, state: Any) -> None:
        """Restore subclass state after unpickling (default: no-op).

        Unpickling does not call `__init__`; it creates the proxy with the
        pickled factory and defaults, then calls this hook.
        """

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        if not has_target(self):
            default = _get_default_class(self)
            if default is not None:
                return default  # type: ignore[no-any-return]
        return get_target(self).__class__  # type: ignore[no-any-return]

    def __hash__(self) -> int:
        if not has_target(self):
            default = _get_default_hash(self)
            if default is not None:
                return default  # type: ignore[no-any-return]
        return hash(get_target(self))

    def __repr__(self) -> str:
        return repr(get_target(self))

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return (
            _rebuild_proxy,
            (
                type(self),
                _get_resolver(self).factory,
                _get_default_class(self),
                _get_default_hash(self),
                self.__proxy_getstate__(),
            ),
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__reduce_ex__(None)

    def __copy__(self) -> T:
        return copy.copy(get_target(self))  # type: ignore[no-any-return]

    def __deepcopy__(self, memo: dict[int, Any]) -> T:
        return copy.deepcopy(get_target(self), memo)  # type: ignore[no-any-return]

    # Special methods the C base does not forward.
    def __next__(self) -> Any:
        return next(get_target(self))

    def __floor__(self) -> Any:
        return math.floor(get_target(self))

    def __ceil__(self) -> Any:
        return math.ceil(get_target(self))

    def __trunc__(self) -> Any:
        return math.trunc(get_target(self))

    def __complex__(self) -> complex:
        return complex(get_target(self))


_member = Proxy.__dict__
_get_resolver: Callable[[Any], Resolver] = _member['_proxy_resolver'].__get__
_set_resolver: Callable[[Any, Resolver], None] = _member[
    '_proxy_resolver'
].__set__
_get_default_class = _member['__proxy_default_class__'].__get__
_set_default_class = _member['__proxy_default_class__'].__set__
_get_default_hash = _member['__proxy_default_hash__'].__get__
_set_default_hash = _member['__proxy_default_hash__'].__set__
_install_attribute_hooks(Proxy)


def _hash_or_none(obj: Any) -> int | None:
    try:
        return hash(obj)
    except TypeError:
        return None


ProxyOr: TypeAlias = Proxy[T] | T
"""A proxy of `T` or a `T` itself."""

__all__ = ['Proxy', 'ProxyOr']
