"""Executor wrapper that moves task data through a store.

[`StoreExecutor`][proxystore.store.executor.StoreExecutor] wraps any
executor-like object (a `concurrent.futures.ProcessPoolExecutor`, a Dask
`distributed.Client`, ...) so that the task arguments chosen by a
policy travel as small proxies while the bulk data goes through the store,
and so do the results, which are proxied on the worker side.
"""

from __future__ import annotations

import dataclasses
import sys
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import CancelledError
from concurrent.futures import Executor
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from typing import Any
from typing import TypeVar
from typing import cast

from proxystore.proxy import Proxy
from proxystore.store import get_or_create_store
from proxystore.store import get_store
from proxystore.store import register_store
from proxystore.store import unregister_store
from proxystore.store.base import Store
from proxystore.store.config import StoreConfig
from proxystore.store.ref import OwnedProxy
from proxystore.store.ref import RefMutProxy
from proxystore.store.ref import RefProxy
from proxystore.store.ref import borrow
from proxystore.store.ref import into_owned
from proxystore.store.scopes import mark_refs_out_of_scope
from proxystore.store.scopes import submit as scoped_submit
from proxystore.store.types import NON_PROXIABLE_TYPES
from proxystore.store.utils import get_key

T = TypeVar('T')

ShouldProxyT = Callable[[Any], bool]
"""Policy deciding if a value is sent through the store."""

__all__ = ['ProxyAlways', 'ProxyNever', 'ProxyType', 'StoreExecutor']


class ProxyAlways:
    """Policy that proxies every value."""

    def __call__(self, value: Any) -> bool:
        """Return `True`."""
        return True


class ProxyNever:
    """Policy that proxies nothing."""

    def __call__(self, value: Any) -> bool:
        """Return `False`."""
        return False


class ProxyType:
    """Policy that proxies instances of the given types.

    Args:
        types: Types whose instances (subclasses included) are proxied.
    """

    def __init__(self, *types: type) -> None:
        self.types = types

    def __call__(self, value: Any) -> bool:
        """Return if `value` is an instance of one of the types."""
        return isinstance(value, self.types)


class _ProxiedResult:
    """Marks a result the worker put in the store (vs. a user's proxy).

    An opaque class, not a tuple, so engines that inspect results (Dask
    measures their size) never touch, and so resolve, the proxy.
    """

    __slots__ = ('proxy',)

    def __init__(self, proxy: Proxy[Any]) -> None:
        self.proxy = proxy

    def __reduce__(self) -> tuple[Any, ...]:
        return (_ProxiedResult, (self.proxy,))


class _WorkerTask:
    """Callable run by the worker: calls the function, proxies the result.

    Arguments are packed inside so the engine treats them as one opaque
    value and does not inspect (and resolve) the proxies among them.
    """

    def __init__(
        self,
        function: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        store_config: StoreConfig,
        should_proxy: ShouldProxyT,
        ownership: bool,
    ) -> None:
        self.function = function
        self.args = args
        self.kwargs = kwargs
        self.store_config = store_config
        self.should_proxy = should_proxy
        self.ownership = ownership

    def __call__(self) -> Any:
        result = self.function(*self.args, **self.kwargs)
        if not _selects(self.should_proxy, result):
            return result
        store = get_or_create_store(self.store_config)
        # populate_target: engines may inspect the result (isinstance(),
        # sizes) before sending it; a populated proxy answers without
        # resolving, which would evict an evict-on-resolve result.
        proxy: Any = store.proxy(
            result,
            evict=not self.ownership,
            populate_target=True,
        )
        return _ProxiedResult(cast(Proxy[Any], proxy))


def _selects(should_proxy: ShouldProxyT, value: Any) -> bool:
    """Whether a value goes through the store (proxies never do again)."""
    # type() rather than isinstance(): isinstance() may resolve a proxy.
    return (
        not issubclass(type(value), Proxy)
        and type(value) not in NON_PROXIABLE_TYPES
        and should_proxy(value)
    )


@dataclasses.dataclass
class _TaskRefs:
    """References one submission hands out, by how they are cleaned up."""

    # The caller's borrows: end when the task completes.
    scoped: list[Any] = dataclasses.field(default_factory=list)
    # Borrows and owners made by the executor: end when the task completes
    # or its submission fails.
    lent: list[Any] = dataclasses.field(default_factory=list)
    # Keys of evict-on-resolve proxies (ownership=False) to remove if the
    # submission fails.
    evict_on_failure: list[Any] = dataclasses.field(default_factory=list)


class _StoreFuture(Future[T]):
    """Client-side future of a task, completed from the engine's future.

    Args:
        inner: The engine's future.
        convert: Applied to the task's result before it is set.
    """

    def __init__(self, inner: Any, convert: Callable[[Any], T]) -> None:
        super().__init__()
        self._inner = inner
        self._convert = convert
        inner.add_done_callback(self._finish)

    def cancel(self) -> bool:
        """Cancel the task if the underlying engine can still cancel it."""
        inner = self._inner
        if inner is not None:
            inner.cancel()
            if not _is_cancelled(inner):
                return self.cancelled()
        return super().cancel()

    def _finish(self, inner: Any) -> None:
        # Drop the engine's future: it holds this callback, and so this
        # future and its result, in a cycle that would delay eviction.
        self._inner = None
        try:
            result = self._convert(inner.result())
        except CancelledError:
            super().cancel()
            return
        except BaseException as e:
            if self.set_running_or_notify_cancel():
                self.set_exception(e)
            return
        # If the caller cancelled meanwhile, an owned result is simply
        # collected, which evicts it.
        if self.set_running_or_notify_cancel():
            self.set_result(result)


def _is_cancelled(future: Any) -> bool:
    cancelled = getattr(future, 'cancelled', None)
    return bool(cancelled()) if callable(cancelled) else False


def _is_dask_client(executor: Any) -> bool:
    distributed = sys.modules.get('distributed')
    return distributed is not None and isinstance(
        executor,
        distributed.Client,
    )


class StoreExecutor(Executor):
    """Executor that sends selected arguments and results via a store.

    Arguments selected by `should_proxy` are put in `store` and replaced by
    proxies before the task is submitted to `executor`; on the worker, the
    result is proxied if `should_proxy` selects it, and the returned future
    resolves to that proxy.

    With `ownership=True` (default) every argument object is owned by the
    client ([`OwnedProxy`][proxystore.store.ref.OwnedProxy]) and the task
    receives a shared borrow; the borrow ends and the object is evicted when
    the task completes. An `OwnedProxy` passed by the caller is lent as a
    borrow too (the caller keeps ownership) and every borrow passed in is
    scoped to the task (see
    [`submit()`][proxystore.store.scopes.submit]). A proxied result arrives
    as an `OwnedProxy`: the object is evicted once the caller drops it.

    With `ownership=False` arguments and results are plain proxies created
    with `evict=True`: the object is evicted when the proxy is first
    resolved (an object never resolved stays in the store). An
    `OwnedProxy` passed by the caller is then moved to the task.

    With a Dask client, tasks are submitted with `pure=False` so that
    every call runs.

    Args:
        executor: Any executor-like object with `submit(fn, *args)`
            returning a future that accepts done-callbacks, e.g. a
            `concurrent.futures.Executor` or a Dask `distributed.Client`.
        store: Store the data goes through. It must be reachable from the
            workers (e.g. a file system, Redis or endpoint connector). It
            is registered in this process if no store of its name is.
        should_proxy: Policy selecting the values to proxy; must be
            picklable since it runs on the workers for the results.
            Defaults to [`ProxyNever`][proxystore.store.executor.ProxyNever].
        ownership: Use ownership (see above) instead of evict-on-resolve.
        close_store: Close the store when this executor shuts down. This
            may delete stored objects (e.g. `FileConnector(clear=True)`), so
            use the result proxies before shutting down.
    """

    def __init__(
        self,
        executor: Any,
        store: Store[Any],
        should_proxy: ShouldProxyT | None = None,
        *,
        ownership: bool = True,
        close_store: bool = True,
    ) -> None:
        self.executor = executor
        self.store = store
        self.should_proxy: ShouldProxyT = (
            ProxyNever() if should_proxy is None else should_proxy
        )
        self.ownership = ownership
        self.close_store = close_store
        self._store_config = store.config()
        self._submit_kwargs = (
            {'pure': False} if _is_dask_client(executor) else {}
        )
        self._registered = get_store(store.name) is None
        if self._registered:
            register_store(store)
        self._futures: set[Future[Any]] = set()
        self._lock = threading.Lock()
        self._shutdown = False

    def _prepare(self, value: Any, refs: _TaskRefs) -> Any:
        """Replace one argument by what the task receives."""
        kind = type(value)
        if issubclass(kind, (RefProxy, RefMutProxy)):
            refs.scoped.append(value)
            return value
        if issubclass(kind, OwnedProxy) and self.ownership:
            ref = borrow(value)
            refs.lent.append(ref)
            return ref
        if not _selects(self.should_proxy, value):
            return value
        # Populated proxies answer isinstance() checks the engine may make
        # while pickling without resolving (an evict=True proxy would
        # evict itself).
        if not self.ownership:
            proxy = cast(
                Proxy[Any],
                self.store.proxy(value, evict=True, populate_target=True),
            )
            refs.evict_on_failure.append(get_key(proxy))
            return proxy
        owned = cast(
            OwnedProxy[Any],
            self.store.owned_proxy(value, populate_target=True),
        )
        ref = borrow(owned)
        # The borrow ends first, then the owner is dropped.
        refs.lent.extend((ref, owned))
        return ref

    def submit(
        self,
        fn: Callable[..., T],
        /,
        *args: Any,
        **kwargs: Any,
    ) -> Future[T]:
        """Schedule `fn(*args, **kwargs)`, proxying per the policy.

        Returns:
            A future whose result is the task's result, or a proxy of it
            (an `OwnedProxy` when `ownership=True`).

        Raises:
            RuntimeError: If the executor was shut down.
            MutableBorrowError: If an `OwnedProxy` argument is mutably
                borrowed (it cannot be lent). Objects this call already
                put in the store are removed again.
        """
        with self._lock:
            if self._shutdown:
                raise RuntimeError(
                    'cannot schedule new futures after shutdown',
                )
        refs = _TaskRefs()
        try:
            task = _WorkerTask(
                fn,
                tuple(self._prepare(arg, refs) for arg in args),
                {key: self._prepare(v, refs) for key, v in kwargs.items()},
                self._store_config,
                self.should_proxy,
                self.ownership,
            )
            inner = scoped_submit(
                self.executor.submit,
                args=(task,),
                kwargs=self._submit_kwargs,
                register_custom_refs=[*refs.scoped, *refs.lent],
            )
            # submit() ends the borrows; then the owners lent are dropped.
            owners = [r for r in refs.lent if type(r) is OwnedProxy]
            if len(owners) > 0:
                inner.add_done_callback(
                    lambda _: mark_refs_out_of_scope(*owners),
                )
        except BaseException:
            # Undo what this call created; the caller's borrows stay.
            mark_refs_out_of_scope(*refs.lent)
            for key in refs.evict_on_failure:
                self.store.evict(key)
            raise
        future: _StoreFuture[T] = _StoreFuture(inner, self._receive)
        with self._lock:
            self._futures.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._futures.discard(future)

    def _receive(self, result: Any) -> Any:
        """Turn what a worker returned into what the caller gets."""
        if type(result) is not _ProxiedResult:
            return result
        return into_owned(result.proxy) if self.ownership else result.proxy

    def shutdown(
        self,
        wait: bool = True,
        *,
        cancel_futures: bool = False,
    ) -> None:
        """Shut down the wrapped executor and, if asked, close the store.

        A `concurrent.futures.Executor` is shut down; another engine is
        closed if it has `close()` (a Dask `Client` closes its connection,
        not the cluster), else shut down if it has `shutdown()`, else a
        `RuntimeWarning` says it cannot be shut down.

        Args:
            wait: Wait for the pending tasks (and their clean-up) first.
            cancel_futures: Cancel the tasks that have not started.
        """
        with self._lock:
            self._shutdown = True
            futures = list(self._futures)
        if cancel_futures:
            for future in futures:
                future.cancel()
        if wait:
            wait_for(futures)
        _shutdown_engine(self.executor, wait, cancel_futures)
        if self._registered:
            unregister_store(self.store)
        if self.close_store:
            self.store.close()


def _shutdown_engine(executor: Any, wait: bool, cancel_futures: bool) -> None:
    if isinstance(executor, Executor):
        executor.shutdown(wait=wait, cancel_futures=cancel_futures)
    elif callable(getattr(executor, 'close', None)):
        # E.g. a Dask Client: close the connection, not a shared cluster.
        executor.close()
    elif callable(getattr(executor, 'shutdown', None)):
        executor.shutdown()
    else:
        warnings.warn(
            f'Cannot shutdown {type(executor).__name__} because it is not a '
            'subclass of Executor nor does it have a close() method.',
            RuntimeWarning,
            stacklevel=3,
        )
