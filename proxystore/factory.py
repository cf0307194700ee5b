"""Factories: picklable callables that produce the target of a proxy.

A [`Proxy`][proxystore.proxy.Proxy] calls its factory (with no arguments)
the first time the target is needed. Because a proxy pickles as its factory
only, a factory must be small and picklable; the object it produces need
not be.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from typing import Generic
from typing import TypeVar

T = TypeVar('T')


class Factory(Generic[T]):
    """Base class of factories.

    Subclasses define `__init__` and
    [`resolve()`][proxystore.factory.Factory.resolve]; calling the factory
    resolves it. Subclasses must stay picklable.

    Raises:
        NotImplementedError: When instantiated directly (also from a
            subclass that does not define `__init__`).
    """

    def __init__(self) -> None:
        raise NotImplementedError

    def __call__(self) -> T:
        """Produce the target object (same as `resolve()`)."""
        return self.resolve()

    def resolve(self) -> T:
        """Produce the target object.

        Raises:
            NotImplementedError: Unless a subclass implements it.
        """
        raise NotImplementedError


def _restore(
    factory: Any,
    state: dict[str, Any],
    names: dict[str, str],
) -> None:
    """Accept pickles with public (older ours) or underscore names."""
    for public, private in names.items():
        if public in state:
            state[private] = state.pop(public)
    factory.__dict__.update(state)


class SimpleFactory(Factory[T]):
    """Factory that returns an object it holds.

    The object is kept in `_obj` (as upstream ProxyStore does, so that its
    pickles load) and is also readable and writable as `obj`.

    Args:
        obj: The object to return; pickled along with the factory.
    """

    def __init__(self, obj: T) -> None:
        self._obj = obj

    @property
    def obj(self) -> T:
        """The object the factory returns."""
        return self._obj

    @obj.setter
    def obj(self, obj: T) -> None:
        self._obj = obj

    def resolve(self) -> T:
        """Return the held object."""
        return self._obj

    def __setstate__(self, state: dict[str, Any]) -> None:
        _restore(self, state, {'obj': '_obj'})

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self._obj!r})'


class LambdaFactory(Factory[T]):
    """Factory that calls `target(*args, **kwargs)` on every resolve.

    The callable and its arguments are kept in `_target`, `_args` and
    `_kwargs` (upstream's names) and are also available as `target`, `args`
    and `kwargs`.

    Args:
        target: Callable producing the object. It must be picklable for the
            factory to be (a `lambda` needs cloudpickle).
        args: Positional arguments passed to `target`.
        kwargs: Keyword arguments passed to `target`.
    """

    def __init__(
        self,
        target: Callable[..., T],
        *args: Any,
        **kwargs: Any,
    ) -> None:
        self._target = target
        self._args = args
        self._kwargs = kwargs

    @property
    def target(self) -> Callable[..., T]:
        """The callable that produces the object."""
        return self._target

    @property
    def args(self) -> tuple[Any, ...]:
        """Positional arguments passed to `target`."""
        return self._args

    @property
    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments passed to `target`."""
        return self._kwargs

    def resolve(self) -> T:
        """Call `target` with the stored arguments and return the result."""
        return self._target(*self._args, **self._kwargs)

    def __setstate__(self, state: dict[str, Any]) -> None:
        _restore(
            self,
            state,
            {'target': '_target', 'args': '_args', 'kwargs': '_kwargs'},
        )

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}({self._target!r}, *{self._args!r}, '
            f'**{self._kwargs!r})'
        )
