"""Scope borrows to the lifetime of a submitted task.

A borrow sent to another process cannot tell its owner when it is done, so
the lender keeps its local borrow alive until the task completes.
[`submit()`][proxystore.store.scopes.submit] does that for any executor
whose futures accept done-callbacks.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any
from typing import Protocol
from typing import TypeVar
from typing import runtime_checkable

from proxystore.store.ref import RefMutProxy
from proxystore.store.ref import RefProxy
from proxystore.store.ref import _release_ref

FutureT = TypeVar('FutureT', bound='FutureWithCallback')

__all__ = ['FutureWithCallback', 'mark_refs_out_of_scope', 'submit']


@runtime_checkable
class FutureWithCallback(Protocol):
    """A future that calls back once it completes.

    [`concurrent.futures.Future`][concurrent.futures.Future], Dask's
    `distributed.Future` and most executor futures qualify.
    """

    def add_done_callback(self, callback: Callable[[Any], Any], /) -> None:
        """Call `callback(future)` once the future is done."""
        ...


def mark_refs_out_of_scope(*refs: Any) -> None:
    """End borrows and drop owners.

    A [`RefProxy`][proxystore.store.ref.RefProxy] or
    [`RefMutProxy`][proxystore.store.ref.RefMutProxy] stops counting as a
    borrow of its owner and becomes invalid: any later use raises
    [`ReferenceInvalidError`][proxystore.store.ref.ReferenceInvalidError]
    (a borrow already out of scope is skipped, so duplicates are fine). An
    [`OwnedProxy`][proxystore.store.ref.OwnedProxy] is dropped and its
    object evicted (an owner already dropped or moved is skipped).

    Args:
        refs: References to mark out of scope.

    Raises:
        TypeError: If a value is not one of the three reference types;
            the references before it were already released.
        RuntimeError: If a borrow has no reference to its owner (it was
            received from another process).
        ReferenceBorrowedError: If an owner is still borrowed.
    """
    for ref in refs:
        _release_ref(ref)


def _find_refs(values: Iterable[Any]) -> list[Any]:
    # type() rather than isinstance(): isinstance() may resolve a proxy.
    return [v for v in values if type(v) in (RefProxy, RefMutProxy)]


def submit(
    submit_func: Callable[..., FutureT],
    *,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    register_custom_refs: Sequence[Any] = (),
) -> FutureT:
    """Submit a task and end the borrows passed to it when it completes.

    Every [`RefProxy`][proxystore.store.ref.RefProxy] and
    [`RefMutProxy`][proxystore.store.ref.RefMutProxy] among the top-level
    `args` and `kwargs` values and in `register_custom_refs` (other items
    there are ignored) is kept alive while the task runs and marked out of
    scope (see
    [`mark_refs_out_of_scope()`][proxystore.store.scopes.mark_refs_out_of_scope])
    once the returned future is done, whatever its outcome.

    Example:
        ```python
        from concurrent.futures import ProcessPoolExecutor
        from proxystore.store.ref import borrow
        from proxystore.store.scopes import submit

        owned = store.owned_proxy([1, 2, 3])
        with ProcessPoolExecutor() as pool:
            future = submit(pool.submit, args=(sum, borrow(owned)))
            assert future.result() == 6
        ```

    Args:
        submit_func: Submits the task, e.g. `executor.submit`; called as
            `submit_func(*args, **kwargs)`.
        args: Positional arguments for `submit_func`.
        kwargs: Keyword arguments for `submit_func`.
        register_custom_refs: Further borrows to mark out of scope when
            the task completes, e.g. borrows nested inside containers.
            Only `RefProxy` and `RefMutProxy` items are used.

    Returns:
        The future returned by `submit_func`.
    """
    kwargs = {} if kwargs is None else dict(kwargs)
    refs = [
        *_find_refs(register_custom_refs),
        *_find_refs(args),
        *_find_refs(kwargs.values()),
    ]
    future = submit_func(*args, **kwargs)

    def _out_of_scope(_: Any) -> None:
        mark_refs_out_of_scope(*refs)

    future.add_done_callback(_out_of_scope)
    return future
