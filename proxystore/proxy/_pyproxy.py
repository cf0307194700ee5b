"""Pure-Python core of `proxystore.proxy.Proxy` (the fallback).

Behaves exactly like the C core in `_cproxy.c`: the same slots, the same
attribute rules and the same module functions. It is used when the C
extension is not built or `PROXYSTORE_PURE_PYTHON=1` is set.

Attribute rules (shared with the C core): a name found on the proxy's type
or in the instance `__dict__` of a subclass without `__slots__` belongs to
the proxy, except the forwarded specials (`__doc__`, `__module__`,
`__dict__`, `__weakref__`, `__annotations__`); every other name is looked
up on the target. A subclass that defines `__getattr__` gets the names
missing on the proxy instead of the target.
"""

from __future__ import annotations

import operator
import sys
import threading
from collections.abc import Callable
from typing import Any

_FORWARDED = frozenset(
    {'__doc__', '__module__', '__dict__', '__weakref__', '__annotations__'},
)
_CO_ITERABLE_COROUTINE = 0x100

_failed = threading.local()
_object_getattribute = object.__getattribute__
_object_setattr = object.__setattr__
_object_delattr = object.__delattr__


def _no_resolver(proxy: Any) -> Any:
    raise RuntimeError('proxystore.proxy._pyproxy: no resolver installed')


_resolver: Callable[[Any], Any] = _no_resolver


def set_resolver(func: Callable[[Any], Any]) -> None:
    """Install the callable that resolves a proxy."""
    global _resolver  # noqa: PLW0603
    if not callable(func):
        raise TypeError('resolver must be callable')
    _resolver = func


def _in_any(name: str, dicts: tuple[Any, ...]) -> bool:
    return any(name in d for d in dicts)


def _on_type(cls: type, name: str) -> bool:
    dicts, names = cls._proxy_layout  # type: ignore[attr-defined]
    return name in names or _in_any(name, dicts)


def _attribute_error(proxy: Any, name: str) -> AttributeError:
    return AttributeError(
        f"'{type(proxy).__name__}' object has no attribute '{name}'",
    )


def _check_name(name: Any) -> None:
    if not isinstance(name, str):
        raise TypeError(
            f"attribute name must be string, not '{type(name).__name__}'",
        )


class ProxyBase:
    """Pure-Python core of `proxystore.proxy.Proxy`."""

    __slots__ = (
        '_proxy_target',
        '_proxy_factory',
        '_proxy_default_class',
        '_proxy_default_hash',
        '__weakref__',
    )

    def __init__(
        self,
        factory: Any,
        *,
        cache_defaults: bool = False,
        target: Any = None,
    ) -> None:
        if not callable(factory):
            raise TypeError('Factory must be callable.')
        _factory_set(self, factory)
        if target is not None:
            _target_set(self, target)
            if cache_defaults:
                cls = target.__class__
                _class_set(self, cls)
                _hash_set(self, _hash_default(target))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        prepare_class(cls)

    # Attributes

    def __getattribute__(self, name: str) -> Any:
        # First: isinstance() asks for __class__ on every call.
        if name == '__class__':
            try:
                target = _target_get(self)
            except AttributeError:
                return _class_of(self)
            return target.__class__
        has_dict, frozen, own, more = type(self)._proxy_lookup  # type: ignore[attr-defined]
        # One test for the forwarded specials and the library's own names.
        if name in frozen:
            if name in _FORWARDED:
                return getattr(_target(self), name)
            return _object_getattribute(self, name)
        # The class's own namespace first, without a loop: most classes
        # have no more (and no closure here: it would make `name` a cell).
        if name in own or (more and _in_any(name, more)):
            return _object_getattribute(self, name)
        if has_dict:
            instance = _object_getattribute(self, '__dict__')
            if name in instance:
                return instance[name]
        # A __getattr__ of a class above ProxyBase gets the missing names.
        if '__getattr__' in own or (more and _in_any('__getattr__', more)):
            raise _attribute_error(self, name)
        try:
            target = _target_get(self)
        except AttributeError:
            target = _resolver(self)
        try:
            return getattr(target, name)
        except AttributeError as e:
            # Python now calls __getattr__, which must not look again.
            _failed.lookup = (self, name, e)
            raise

    def __getattr__(self, name: str) -> Any:
        """Look a name up on the target (resolving it first)."""
        # Python also calls this after __getattribute__ raised: a name
        # that belongs to the proxy must not reach the target then, and a
        # name the target just refused is not looked up twice.
        failed = _failed.__dict__.pop('lookup', None)
        if failed is not None and failed[0] is self and failed[1] == name:
            raise failed[2]
        if _on_type(type(self), name):
            raise _attribute_error(self, name)
        return getattr(_target(self), name)

    def __setattr__(self, name: str, value: Any) -> None:
        """Set on the proxy a name its type defines, else on the target."""
        _check_name(name)
        if name == '__orig_class__':
            raise AttributeError('a proxy does not record __orig_class__')
        if _on_type(type(self), name):
            _object_setattr(self, name, value)
        else:
            setattr(_target(self), name, value)

    def __delattr__(self, name: str) -> None:
        """Delete from the proxy a name its type defines, else the target's."""
        _check_name(name)
        if name == '__orig_class__':
            raise AttributeError('a proxy does not record __orig_class__')
        if _on_type(type(self), name):
            _object_delattr(self, name)
        else:
            delattr(_target(self), name)

    # Special attributes

    @property
    def __proxy_factory__(self) -> Any:
        """The factory that produces the target."""
        try:
            return _factory_get(self)
        except AttributeError:
            raise AttributeError('__proxy_factory__') from None

    @__proxy_factory__.setter
    def __proxy_factory__(self, factory: Any) -> None:
        _factory_set(self, factory)

    @__proxy_factory__.deleter
    def __proxy_factory__(self) -> None:
        try:
            _factory_del(self)
        except AttributeError:
            raise AttributeError('__proxy_factory__') from None

    @property
    def __proxy_resolved__(self) -> bool:
        """Whether the target is present (never resolves)."""
        return has_target(self)

    @property
    def __proxy_target__(self) -> Any:
        """The target; AttributeError while unresolved (never resolves)."""
        return peek_target(self)

    @__proxy_target__.setter
    def __proxy_target__(self, target: Any) -> None:
        _target_set(self, target)

    @__proxy_target__.deleter
    def __proxy_target__(self) -> None:
        if not has_target(self):
            raise AttributeError('__proxy_target__')
        _target_del(self)

    @property
    def __proxy_wrapped__(self) -> Any:
        """The target, resolving first; settable, deletable."""
        return _target(self)

    @__proxy_wrapped__.setter
    def __proxy_wrapped__(self, target: Any) -> None:
        _target_set(self, target)

    @__proxy_wrapped__.deleter
    def __proxy_wrapped__(self) -> None:
        clear_target(self)

    @property
    def __proxy_default_class__(self) -> Any:
        """Cached class of the target, or None."""
        return _default(_class_get, self)

    @__proxy_default_class__.setter
    def __proxy_default_class__(self, value: Any) -> None:
        _set_default(_class_set, _class_del, self, value)

    @property
    def __proxy_default_hash__(self) -> Any:
        """Cached hash of the target (or its hash error), or None."""
        return _default(_hash_get, self)

    @__proxy_default_hash__.setter
    def __proxy_default_hash__(self, value: Any) -> None:
        _set_default(_hash_set, _hash_del, self, value)

    @property
    def __class__(self) -> Any:
        """The target's class (the cached default while unresolved)."""
        return _class_of(self)

    @__class__.setter
    def __class__(self, value: Any) -> None:
        _target(self).__class__ = value

    # Slots

    def __repr__(self) -> str:
        try:
            factory = _factory_get(self)
        except AttributeError:
            factory = None
        name = type(self).__name__
        if not has_target(self):
            return f'<{name} at 0x{id(self):x} with factory {factory!r}>'
        target = _target_get(self)
        return (
            f'<{name} at 0x{id(self):x} wrapping {target!r} at '
            f'0x{id(target):x} with factory {factory!r}>'
        )

    def __str__(self) -> str:
        return str(_target(self))

    def __hash__(self) -> int:
        try:
            target = _target_get(self)
        except AttributeError:
            pass
        else:
            return hash(target)
        if not has_target(self):
            try:
                default = _hash_get(self)
            except AttributeError:
                pass
            else:
                if isinstance(default, BaseException):
                    raise default
                return default  # type: ignore[no-any-return]
        return hash(_target(self))

    def __eq__(self, other: object) -> Any:
        return _target(self) == other

    def __ne__(self, other: object) -> Any:
        return _target(self) != other

    def __lt__(self, other: Any) -> Any:
        return _target(self) < other

    def __le__(self, other: Any) -> Any:
        return _target(self) <= other

    def __gt__(self, other: Any) -> Any:
        return _target(self) > other

    def __ge__(self, other: Any) -> Any:
        return _target(self) >= other

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return _target(self)(*args, **kwargs)

    def __iter__(self) -> Any:
        return iter(_target(self))

    def __next__(self) -> Any:
        return next(_target(self))

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        target = _target(self)
        get = getattr(type(target), '__get__', None)
        if get is None:
            return self
        return get(target, obj, objtype)

    if sys.version_info >= (3, 12):  # pragma: no cover (3.12+)

        def __buffer__(self, flags: int) -> memoryview:
            return _target(self).__buffer__(flags)  # type: ignore[no-any-return,unused-ignore]

    # Containers

    # The hottest slots read the target inline (no helper call).

    def __len__(self) -> int:
        try:
            target = _target_get(self)
        except AttributeError:
            target = _resolver(self)
        return len(target)

    def __getitem__(self, key: Any) -> Any:
        try:
            target = _target_get(self)
        except AttributeError:
            target = _resolver(self)
        return target[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        _target(self)[key] = value

    def __delitem__(self, key: Any) -> None:
        del _target(self)[key]

    def __contains__(self, value: Any) -> bool:
        return value in _target(self)

    # Numbers

    def __bool__(self) -> bool:
        return bool(_target(self))

    def __int__(self) -> int:
        return int(_target(self))

    def __float__(self) -> float:
        return float(_target(self))

    def __index__(self) -> int:
        target = _target(self)
        if hasattr(type(target), '__index__'):
            return operator.index(target)
        return int(target)

    def __neg__(self) -> Any:
        return -_target(self)

    def __pos__(self) -> Any:
        return +_target(self)

    def __abs__(self) -> Any:
        return abs(_target(self))

    def __invert__(self) -> Any:
        return ~_target(self)

    def __pow__(self, other: Any, mod: Any = None) -> Any:
        return pow(_target(self), other, mod)

    def __rpow__(self, other: Any, mod: Any = None) -> Any:
        return pow(other, _target(self), mod)

    def __ipow__(self, other: Any, mod: Any = None) -> Any:
        target = _target(self)
        target **= other
        _target_set(self, target)
        return self

    # Async

    def __await__(self) -> Any:
        target = _target(self)
        method = getattr(type(target), '__await__', None)
        if method is not None:
            return method(target)
        code = getattr(target, 'gi_code', None)
        if type(target).__name__ == 'generator' and (
            code is not None and code.co_flags & _CO_ITERABLE_COROUTINE
        ):
            return target
        raise TypeError(
            f"object {type(target).__name__} can't be used in 'await' "
            'expression',
        )

    def __aiter__(self) -> Any:
        target = _target(self)
        method = getattr(type(target), '__aiter__', None)
        if method is None:
            raise TypeError(
                "'async for' requires an object with __aiter__ method, got "
                f'{type(target).__name__}',
            )
        return method(target)

    def __anext__(self) -> Any:
        target = _target(self)
        method = getattr(type(target), '__anext__', None)
        if method is None:
            raise TypeError(
                f"'{type(target).__name__}' object is not an async iterator",
            )
        return method(target)


def _binary(op: Callable[[Any, Any], Any]) -> Any:
    def forward(self: Any, other: Any) -> Any:
        try:
            target = _target_get(self)
        except AttributeError:
            target = _resolver(self)
        return op(target, other)

    def reflected(self: Any, other: Any) -> Any:
        try:
            target = _target_get(self)
        except AttributeError:
            target = _resolver(self)
        return op(other, target)

    return forward, reflected


def _inplace(op: Callable[[Any, Any], Any]) -> Any:
    def forward(self: Any, other: Any) -> Any:
        _target_set(self, op(_target(self), other))
        return self

    return forward


for _name, _op, _iop in [
    ('add', operator.add, operator.iadd),
    ('sub', operator.sub, operator.isub),
    ('mul', operator.mul, operator.imul),
    ('matmul', operator.matmul, operator.imatmul),
    ('truediv', operator.truediv, operator.itruediv),
    ('floordiv', operator.floordiv, operator.ifloordiv),
    ('mod', operator.mod, operator.imod),
    ('divmod', divmod, None),
    ('lshift', operator.lshift, operator.ilshift),
    ('rshift', operator.rshift, operator.irshift),
    ('and', operator.and_, operator.iand),
    ('xor', operator.xor, operator.ixor),
    ('or', operator.or_, operator.ior),
]:
    _fwd, _rev = _binary(_op)
    _fwd.__name__ = f'__{_name}__'
    _rev.__name__ = f'__r{_name}__'
    setattr(ProxyBase, f'__{_name}__', _fwd)
    setattr(ProxyBase, f'__r{_name}__', _rev)
    if _iop is not None:
        _ifwd = _inplace(_iop)
        _ifwd.__name__ = f'__i{_name}__'
        setattr(ProxyBase, f'__i{_name}__', _ifwd)

_members = ProxyBase.__dict__
_target_get: Callable[[Any], Any] = _members['_proxy_target'].__get__
_target_set: Callable[[Any, Any], None] = _members['_proxy_target'].__set__
_target_del: Callable[[Any], None] = _members['_proxy_target'].__delete__
_factory_get: Callable[[Any], Any] = _members['_proxy_factory'].__get__
_factory_set: Callable[[Any, Any], None] = _members['_proxy_factory'].__set__
_factory_del: Callable[[Any], None] = _members['_proxy_factory'].__delete__
_class_get: Callable[[Any], Any] = _members['_proxy_default_class'].__get__
_class_set: Callable[[Any, Any], None] = _members[
    '_proxy_default_class'
].__set__
_class_del: Callable[[Any], None] = _members['_proxy_default_class'].__delete__
_hash_get: Callable[[Any], Any] = _members['_proxy_default_hash'].__get__
_hash_set: Callable[[Any, Any], None] = _members['_proxy_default_hash'].__set__
_hash_del: Callable[[Any], None] = _members['_proxy_default_hash'].__delete__


def _target(proxy: Any) -> Any:
    try:
        return _target_get(proxy)
    except AttributeError:
        pass
    # Outside the except block, so the error is not chained to a failure.
    return _resolver(proxy)


def _class_of(proxy: Any) -> Any:
    if not has_target(proxy):
        try:
            return _class_get(proxy)
        except AttributeError:
            pass
    return _target(proxy).__class__


def _hash_default(target: Any) -> Any:
    try:
        return hash(target)
    except TypeError as e:
        # Without its traceback, whose frames would keep the target alive.
        return e.with_traceback(None)


def _default(get: Callable[[Any], Any], proxy: Any) -> Any:
    try:
        return get(proxy)
    except AttributeError:
        return None


def _set_default(
    set_: Callable[[Any, Any], None],
    del_: Callable[[Any], None],
    proxy: Any,
    value: Any,
) -> None:
    if value is not None:
        set_(proxy, value)
        return
    try:
        del_(proxy)
    except AttributeError:
        pass


def _check(proxy: Any) -> None:
    if not issubclass(type(proxy), ProxyBase):
        raise TypeError(f'Expected a Proxy, got {type(proxy).__name__}.')


def _is_proxy(proxy: Any) -> bool:
    return issubclass(type(proxy), ProxyBase)


def get_target(proxy: Any) -> Any:
    """Return the target, resolving the proxy first if needed."""
    if not _is_proxy(proxy):
        _check(proxy)
    return _target(proxy)


def has_target(proxy: Any) -> bool:
    """Whether the proxy holds its target."""
    try:
        _target_get(proxy)
    except AttributeError:
        return False
    except TypeError:
        _check(proxy)
        raise
    return True


def peek_target(proxy: Any) -> Any:
    """Return the target; `AttributeError` if unresolved."""
    if not _is_proxy(proxy):
        _check(proxy)
    try:
        return _target_get(proxy)
    except AttributeError:
        raise AttributeError('__proxy_target__') from None


def set_target(proxy: Any, target: Any) -> None:
    """Store the target."""
    if not _is_proxy(proxy):
        _check(proxy)
    _target_set(proxy, target)


def clear_target(proxy: Any) -> None:
    """Drop the target (no-op if there is none)."""
    if not _is_proxy(proxy):
        _check(proxy)
    try:
        _target_del(proxy)
    except AttributeError:
        pass


def get_factory(proxy: Any) -> Any:
    """Return the factory; `AttributeError` if missing."""
    if not _is_proxy(proxy):
        _check(proxy)
    try:
        return _factory_get(proxy)
    except AttributeError:
        raise AttributeError('__proxy_factory__') from None


def get_defaults(proxy: Any) -> tuple[Any, Any]:
    """Return `(default_class, default_hash)`."""
    if not _is_proxy(proxy):
        _check(proxy)
    return _default(_class_get, proxy), _default(_hash_get, proxy)


def setup(
    proxy: Any,
    factory: Any,
    default_class: Any,
    default_hash: Any,
) -> None:
    """Set factory and defaults of a new proxy."""
    if not _is_proxy(proxy):
        _check(proxy)
    _factory_set(proxy, factory)
    _set_default(_class_set, _class_del, proxy, default_class)
    _set_default(_hash_set, _hash_del, proxy, default_hash)


def prepare_class(cls: type) -> None:
    """Record where names of a proxy class are looked up.

    The dictionaries of the classes above `ProxyBase` in the MRO (the
    library's own, frozen once imported) are merged into one set of names;
    those of `Proxy` and its subclasses are kept as live views, so that
    class attributes added later are found.
    """
    if not (isinstance(cls, type) and issubclass(cls, ProxyBase)):
        raise TypeError('expected a ProxyBase subclass')
    mro = cls.__mro__
    split = mro.index(ProxyBase)
    dicts = tuple(klass.__dict__ for klass in mro[:split])
    names = frozenset().union(*(klass.__dict__ for klass in mro[split:]))
    names |= {'_proxy_layout', '_proxy_lookup'}
    # What __getattribute__ reads, in one tuple: whether instances have a
    # __dict__, the frozen names with the forwarded specials, and the live
    # namespaces split as the class's own and the rest.
    lookup = (
        bool(cls.__dictoffset__),
        names | _FORWARDED,
        dicts[0] if dicts else {},
        dicts[1:],
    )
    type.__setattr__(cls, '_proxy_layout', (dicts, names))
    type.__setattr__(cls, '_proxy_lookup', lookup)


prepare_class(ProxyBase)
