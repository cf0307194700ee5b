"""Factories: picklable callables that produce the target of a proxy.

A [`Proxy`][proxystore.proxy.Proxy] calls its factory (with no arguments)
the first time the target is needed. Because a proxy pickles as its factory
only, a factory must be small and picklable; the object it produces need
not be.
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any
from typing import Generic
from typing import TypeVar

T = TypeVar('T')


class Factory(abc.ABC, Generic[T]):
    """Base class of factories.

    Subclasses implement [`resolve()`][proxystore.factory.Factory.resolve];
    calling the factory resolves it. Subclasses must stay picklable.
    """

    def __call__(self) -> T:
        """Produce the target object (same as `resolve()`)."""
        return self.resolve()

    @abc.abstractmethod
    def resolve(self) -> T:
        """Produce the target object."""
        raise NotImplementedError


class SimpleFactory(Factory[T]):
    """Factory that returns an object it holds.

    Args:
        obj: The object to return; pickled along with the factory.
    """

    def __init__(self, obj: T) -> None:
        self.obj = obj

    def resolve(self) -> T:
        """Return the held object."""
        return self.obj

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.obj!r})'


class LambdaFactory(Factory[T]):
    """Factory that calls `target(*args, **kwargs)` on every resolve.

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
        self.target = target
        self.args = args
        self.kwargs = kwargs

    def resolve(self) -> T:
        """Call `target` with the stored arguments and return the result."""
        return self.target(*self.args, **self.kwargs)

    def __repr__(self) -> str:
        return (
            f'{type(self).__name__}({self.target!r}, *{self.args!r}, '
            f'**{self.kwargs!r})'
        )
