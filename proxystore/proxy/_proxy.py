"""The transparent lazy proxy, on top of the selected core."""

from __future__ import annotations

import copy
import math
import operator
import os
import types
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING
from typing import Any
from typing import Generic
from typing import TypeAlias
from typing import TypeVar

from typing_extensions import TypeAliasType

from proxystore.proxy import _backend

if TYPE_CHECKING:
    from proxystore.proxy._cproxy import ProxyBase as _Base
else:
    _Base = _backend.CORE.ProxyBase

T = TypeVar('T')

FactoryType: TypeAlias = Callable[[], T]
"""A callable with no arguments that returns the target (`Callable[[], T]`)."""
DefaultClassType: TypeAlias = type | None
"""The cached class of a proxy's target (`type | None`)."""
DefaultHashType: TypeAlias = Exception | int | None
"""The cached hash of a target, or the error `hash(target)` raised."""


def core_of(proxy: Any) -> ModuleType:
    """Return the core module a proxy is built on.

    Raises:
        TypeError: If `proxy` is not a proxy.
    """
    cls = type(proxy)
    for core in _backend.loaded():
        if issubclass(cls, core.ProxyBase):
            return core
    raise TypeError(f'Expected a Proxy, got {cls.__name__}.')


def _usual_hash_error(cls: type, *, qualified: bool = False) -> TypeError:
    name = cls.__name__
    if qualified:
        name = f'{cls.__module__}.{cls.__qualname__}'
    return TypeError(f"unhashable type: '{name}'")


def _hash_error_marker(error: Any, cls: Any) -> bool | None:
    """The marker that stands for a usual unhashable error, else None.

    `True` stands for CPython's form (`'list'`), `False` for the qualified
    form that extension types such as NumPy's use (`'numpy.ndarray'`). A
    real hash is an `int`, never a `bool`, so the markers cannot collide.
    """
    if type(error) is not TypeError or not isinstance(cls, type):
        return None
    for marker in (True, False):
        if error.args == _usual_hash_error(cls, qualified=not marker).args:
            return marker
    return None


def _rebuild_args(proxy: Any) -> tuple[Any, ...]:
    core = core_of(proxy)
    default_class, default_hash = core.get_defaults(proxy)
    return (
        type(proxy),
        core.get_factory(proxy),
        default_class,
        default_hash,
        proxy.__proxy_getstate__(),
    )


def _context_method(proxy: Any, name: str) -> Any:
    target = proxy.__proxy_wrapped__
    method = getattr(type(target), name, None)
    if method is None:
        protocol = 'asynchronous ' if name.startswith('__a') else ''
        raise TypeError(
            f"'{type(target).__name__}' object does not support the "
            f'{protocol}context manager protocol',
        )
    return types.MethodType(method, target)


class _ProxyMethods:
    """Special methods without a type slot, shared by both cores."""

    __slots__ = ()

    if TYPE_CHECKING:
        __proxy_wrapped__: Any

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

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        cls, factory, default_class, default_hash, state = _rebuild_args(self)
        # A plain Proxy unpickles as the plain Proxy of the receiving
        # process, whichever core that process uses.
        kind = None if cls in _PLAIN_CLASSES else cls
        marker = _hash_error_marker(default_hash, default_class)
        if marker is not None:
            default_hash = marker  # 1 byte instead of ~60; rebuilt on load
        return (
            _rebuild_proxy,
            (kind, factory, default_class, default_hash, state),
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return self.__reduce_ex__(None)

    def __copy__(self) -> Any:
        return _rebuild_proxy(*_rebuild_args(self))

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return _rebuild_proxy(*copy.deepcopy(_rebuild_args(self), memo))

    def __format__(self, spec: str) -> str:
        return format(self.__proxy_wrapped__, spec)

    def __dir__(self) -> list[str]:
        return dir(self.__proxy_wrapped__)

    def __bytes__(self) -> bytes:
        return bytes(self.__proxy_wrapped__)

    def __complex__(self) -> complex:
        return complex(self.__proxy_wrapped__)

    def __reversed__(self) -> Any:
        return reversed(self.__proxy_wrapped__)

    def __round__(self, ndigits: Any = None) -> Any:
        if ndigits is None:
            return round(self.__proxy_wrapped__)
        return round(self.__proxy_wrapped__, ndigits)

    def __floor__(self) -> Any:
        return math.floor(self.__proxy_wrapped__)

    def __ceil__(self) -> Any:
        return math.ceil(self.__proxy_wrapped__)

    def __trunc__(self) -> Any:
        return math.trunc(self.__proxy_wrapped__)

    def __length_hint__(self) -> int:
        return operator.length_hint(self.__proxy_wrapped__)

    def __fspath__(self) -> Any:
        return os.fspath(self.__proxy_wrapped__)

    def __enter__(self) -> Any:
        return _context_method(self, '__enter__')()

    def __exit__(self, *args: Any) -> Any:
        return _context_method(self, '__exit__')(*args)

    async def __aenter__(self) -> Any:
        return await _context_method(self, '__aenter__')()

    async def __aexit__(self, *args: Any) -> Any:
        return await _context_method(self, '__aexit__')(*args)

    def __instancecheck__(self, instance: Any) -> bool:
        return isinstance(instance, self.__proxy_wrapped__)

    def __subclasscheck__(self, subclass: Any) -> bool:
        return issubclass(subclass, self.__proxy_wrapped__)


class Proxy(_Base, _ProxyMethods, Generic[T]):
    """Lazy, transparent proxy of the object produced by a factory.

    The first operation that needs the target calls `factory()` (exactly
    once, even when several threads need it at the same time) and keeps the
    result; every operation is then forwarded to the target. `type(p)` is
    `Proxy` but `isinstance(p, T)` and `p.__class__` report the target's
    class. Pickling a proxy pickles only its factory (and cached defaults);
    the unpickled proxy is unresolved. `repr(p)` describes the proxy and
    never resolves it; `str(p)` is the target's.

    Any exception the factory raises is wrapped in a
    [`ProxyResolveError`][proxystore.proxy.ProxyResolveError] whose
    `.cause` is the original; the proxy stays unresolved, so the next use
    calls the factory again.

    Special attributes (never forwarded): `__proxy_factory__` (deletable),
    `__proxy_target__` (raises `AttributeError` while unresolved),
    `__proxy_resolved__`, `__proxy_wrapped__` (resolves; assigning sets the
    target, deleting drops it), `__proxy_default_class__` and
    `__proxy_default_hash__`.

    Args:
        factory: Callable with no arguments that returns the target,
            typically a [`Factory`][proxystore.factory.Factory].
        cache_defaults: With `target`, record the target's class and hash
            (or the `TypeError` hashing raises) so that `isinstance()` and
            `hash()` work without resolving, also after pickling. Does
            nothing without `target`.
        target: Pre-populate the proxy with its target (already resolved).

    Raises:
        TypeError: If `factory` is not callable.
    """

    __module__ = 'proxystore.proxy'
    __slots__ = ()

    if TYPE_CHECKING:

        def __init__(
            self,
            factory: FactoryType[T],
            *,
            cache_defaults: bool = False,
            target: T | None = None,
        ) -> None: ...

        @property
        def __proxy_factory__(self) -> FactoryType[T]: ...

        @__proxy_factory__.setter
        def __proxy_factory__(self, factory: FactoryType[T]) -> None: ...

        @__proxy_factory__.deleter
        def __proxy_factory__(self) -> None: ...

        @property
        def __proxy_target__(self) -> T: ...

        @__proxy_target__.setter
        def __proxy_target__(self, target: T) -> None: ...

        @property
        def __proxy_wrapped__(self) -> T: ...

        @__proxy_wrapped__.setter
        def __proxy_wrapped__(self, target: T) -> None: ...

        @__proxy_wrapped__.deleter
        def __proxy_wrapped__(self) -> None: ...


def make_proxy_class(core: ModuleType) -> type[Proxy[Any]]:
    """Build the plain `Proxy` class on another core (for tests).

    Args:
        core: A core module returned by `_backend.load()`.
    """
    if core is _backend.CORE:
        return Proxy
    for cls in _PLAIN_CLASSES:
        if issubclass(cls, core.ProxyBase):
            return cls
    namespace = {
        '__doc__': Proxy.__doc__,
        '__module__': Proxy.__module__,
        '__qualname__': Proxy.__qualname__,
        '__slots__': (),
    }
    bases = (core.ProxyBase, _ProxyMethods, Generic[T])  # type: ignore[index]
    plain: type[Proxy[Any]] = types.new_class(
        'Proxy',
        bases,
        exec_body=lambda ns: ns.update(namespace),
    )
    _PLAIN_CLASSES.add(plain)
    return plain


_PLAIN_CLASSES: set[type[Any]] = {Proxy}


def _rebuild_proxy(
    cls: type[Proxy[Any]] | None,
    factory: Callable[[], Any],
    default_class: type | None,
    default_hash: Any,
    state: Any,
) -> Proxy[Any]:
    """Unpickle a proxy: same class (a plain `Proxy` if None), unresolved."""
    kind = Proxy if cls is None else cls
    if isinstance(default_hash, bool) and isinstance(default_class, type):
        default_hash = _usual_hash_error(
            default_class,
            qualified=not default_hash,
        )
    proxy = kind.__new__(kind)
    core_of(proxy).setup(proxy, factory, default_class, default_hash)
    proxy.__proxy_setstate__(state)
    return proxy


ProxyOr = TypeAliasType('ProxyOr', Proxy[T] | T, type_params=(T,))
"""A proxy of `T` or a `T` itself."""

__all__ = [
    'DefaultClassType',
    'DefaultHashType',
    'FactoryType',
    'Proxy',
    'ProxyOr',
]
