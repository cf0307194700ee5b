from __future__ import annotations

import gc
import threading
import time
import weakref
from typing import Any

import pytest

from proxystore.proxy import Proxy
from proxystore.proxy import ProxyResolveError
from proxystore.proxy import extract
from proxystore.proxy import is_resolved


class Target:
    def __init__(self) -> None:
        self.value = 42
        self.items = [1, 2, 3]

    def __len__(self) -> int:
        return 3

    def __iter__(self) -> Any:
        return iter(self.items)


class SlowFactory:
    def __init__(self) -> None:
        self.calls = 0
        self.made: list[weakref.ref[Target]] = []

    def __call__(self) -> Target:
        self.calls += 1
        time.sleep(0.05)  # let the other threads pile up
        target = Target()
        self.made.append(weakref.ref(target))
        return target


class FlakyFactory:
    def __init__(self, error: BaseException, failures: int = 1) -> None:
        self.error = error
        self.failures = failures

    def __call__(self) -> str:
        if self.failures > 0:
            self.failures -= 1
            raise self.error
        return 'ok'


class MissingKeyError(ProxyResolveError):
    """Stands in for the store's subclass of ProxyResolveError."""


class Interrupt(BaseException):
    pass


def test_factory_error_is_wrapped_with_cause() -> None:
    cause = ValueError('bad key')
    proxy = Proxy(FlakyFactory(cause))
    with pytest.raises(ProxyResolveError) as info:
        len(proxy)
    assert info.value.cause is cause
    assert info.value.__cause__ is cause
    assert 'factory raised an error while resolving' in str(info.value)
    assert 'stack trace' in str(info.value)


def test_failed_resolution_leaves_proxy_usable() -> None:
    proxy = Proxy(FlakyFactory(OSError('transient')))
    with pytest.raises(ProxyResolveError):
        extract(proxy)
    assert not is_resolved(proxy)
    assert proxy == 'ok'
    assert is_resolved(proxy)


def test_resolve_error_subclass_is_wrapped_too() -> None:
    error = MissingKeyError('key abc missing', ValueError('abc'))
    proxy = Proxy(FlakyFactory(error))
    with pytest.raises(ProxyResolveError) as info:
        proxy.upper()
    assert type(info.value) is ProxyResolveError
    assert info.value.cause is error
    assert proxy.upper() == 'OK'


def test_nested_proxy_error_is_wrapped_again() -> None:
    inner = Proxy(FlakyFactory(KeyError('k'), failures=2))
    outer = Proxy(lambda: inner + '!')
    with pytest.raises(ProxyResolveError) as info:
        str(outer)
    assert isinstance(info.value.cause, ProxyResolveError)
    assert isinstance(info.value.cause.cause, KeyError)


def test_resolve_error_pickles_with_its_cause() -> None:
    import pickle

    error = ProxyResolveError('message', ValueError('v'))
    restored = pickle.loads(pickle.dumps(error))
    assert str(restored) == 'message'
    assert isinstance(restored.cause, ValueError)
    assert restored.cause.args == ('v',)


def test_uninitialised_proxy_raises_resolve_error() -> None:
    proxy = Proxy.__new__(Proxy)
    with pytest.raises(ProxyResolveError, match='not initialized'):
        proxy + 1
    initialised = Proxy(lambda: 1)
    del initialised.__proxy_factory__
    with pytest.raises(
        ProxyResolveError,
        match=r'Proxy is not initialized: __proxy_factory__ is missing\.',
    ):
        len(initialised)
    with pytest.raises(AttributeError):
        del initialised.__proxy_factory__


def test_base_exceptions_are_not_wrapped() -> None:
    proxy = Proxy(FlakyFactory(Interrupt()))
    with pytest.raises(Interrupt):
        str(proxy)


@pytest.mark.parametrize(
    'operation',
    [
        lambda p: isinstance(p, int),
        lambda p: hash(p),
        lambda p: p.attribute,
        lambda p: p + 1,
        lambda p: bool(p),
    ],
)
def test_every_path_wraps_factory_errors(operation: Any) -> None:
    proxy = Proxy(FlakyFactory(KeyError('k')))
    with pytest.raises(ProxyResolveError):
        operation(proxy)


def test_errors_from_the_target_are_not_wrapped() -> None:
    proxy = Proxy(Target)
    with pytest.raises(AttributeError):
        _ = proxy.missing
    with pytest.raises(TypeError):
        proxy + 1


def test_factory_called_once_under_concurrent_access() -> None:
    factory = SlowFactory()
    proxy: Any = Proxy(factory)
    operations = [
        len,
        list,
        lambda p: p.value,
        lambda p: p.items[0],
        str,
        extract,
        lambda p: isinstance(p, Target),
        lambda p: [x for x in p],
    ] * 2
    barrier = threading.Barrier(len(operations))
    results: list[Any] = [None] * len(operations)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = operations[i](proxy)

    threads = [
        threading.Thread(target=run, args=(i,)) for i in range(len(operations))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert factory.calls == 1
    assert results[0] == 3
    assert results[1] == [1, 2, 3]
    assert results[2] == 42
    assert results[5] is extract(proxy)

    # No thread left a dangling reference to the target behind.
    proxy = None
    results.clear()
    gc.collect()
    assert factory.made[0]() is None


def test_concurrent_access_with_failing_factory() -> None:
    factory = FlakyFactory(RuntimeError('down'), failures=1)
    proxy = Proxy(factory)
    errors: list[BaseException] = []
    values: list[Any] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        try:
            values.append(str(proxy))
        except ProxyResolveError as e:
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(errors) == 1
    assert values == ['ok'] * 3


def test_factory_using_its_own_proxy_fails_instead_of_deadlocking() -> None:
    holder: list[Any] = []
    proxy = Proxy(lambda: len(holder[0]))
    holder.append(proxy)
    with pytest.raises(ProxyResolveError) as info:
        len(proxy)
    root: BaseException | None = info.value
    while root is not None and root.__cause__ is not None:
        root = root.__cause__
    assert isinstance(root, RecursionError)
    assert not is_resolved(proxy)
