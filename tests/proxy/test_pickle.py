from __future__ import annotations

import pathlib
import pickle
from typing import Any

import cloudpickle
import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxystore.connectors.file import FileConnector
from proxystore.factory import LambdaFactory
from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy
from proxystore.proxy import Proxy as PublicProxy
from proxystore.proxy import ProxyLocker
from proxystore.proxy import is_resolved
from proxystore.store import Store
from tests.proxy.test_special import _RESTORED
from tests.proxy.test_special import TAGGED


class Unpicklable:
    def __reduce__(self) -> Any:
        raise TypeError('this target must never be pickled')

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Unpicklable)

    def __hash__(self) -> int:
        return 1234


def make_unpicklable() -> Unpicklable:
    return Unpicklable()


def test_pickles_factory_only_unresolved_and_resolved() -> None:
    proxy = Proxy(LambdaFactory(make_unpicklable))
    unresolved = pickle.dumps(proxy)
    assert proxy == Unpicklable()
    assert is_resolved(proxy)
    resolved = pickle.dumps(proxy)
    assert resolved == unresolved
    restored = pickle.loads(resolved)
    # Always the plain Proxy of the unpickling process (its own core).
    assert type(restored) is PublicProxy
    assert not is_resolved(restored)
    assert restored == Unpicklable()


def test_pickled_size_independent_of_target() -> None:
    big = Proxy(LambdaFactory(bytes, 10_000_000))
    assert len(big) == 10_000_000
    assert len(pickle.dumps(big)) < 200


def test_target_prepopulated_proxy_pickles_as_factory() -> None:
    proxy = Proxy(LambdaFactory(make_unpicklable), target=Unpicklable())
    restored = pickle.loads(pickle.dumps(proxy))
    assert not is_resolved(restored)
    assert restored == Unpicklable()


@given(
    st.one_of(
        st.integers(),
        st.text(),
        st.lists(st.integers()),
        st.dictionaries(st.text(), st.floats(allow_nan=False)),
    ),
)
def test_pickle_roundtrip_property(obj: Any) -> None:
    proxy = Proxy(SimpleFactory(obj), cache_defaults=True, target=obj)
    restored = pickle.loads(pickle.dumps(proxy))
    assert not is_resolved(restored)
    assert restored.__proxy_default_class__ is type(obj)
    assert restored == obj


def test_subclass_survives_pickling_with_state(implementation: str) -> None:
    Tagged = TAGGED[implementation]  # noqa: N806
    proxy = Tagged(SimpleFactory([1]))
    _RESTORED.clear()
    restored = pickle.loads(pickle.dumps(proxy))
    assert type(restored) is Tagged
    assert _RESTORED == [{'extra': 1}]
    assert restored.tag() == 'tagged'
    assert restored == [1]


def test_cloudpickle_keeps_cached_defaults_unresolved() -> None:
    proxy = Proxy(
        LambdaFactory(make_unpicklable),
        cache_defaults=True,
        target=Unpicklable(),
    )
    restored = cloudpickle.loads(cloudpickle.dumps(proxy))
    assert not is_resolved(restored)
    assert isinstance(restored, Unpicklable)
    assert hash(restored) == 1234
    assert not is_resolved(restored)


def test_locker_pickles_and_unlocks() -> None:
    locker = ProxyLocker(Proxy(LambdaFactory(make_unpicklable)))
    restored = pickle.loads(pickle.dumps(locker))
    assert isinstance(restored, ProxyLocker)
    proxy = restored.unlock()
    assert type(proxy) is PublicProxy
    assert not is_resolved(proxy)
    assert proxy == Unpicklable()
    assert 'ProxyLocker' in repr(restored)
    assert not is_resolved(locker.unlock())


def inspect_in_child(proxy: Any) -> tuple[bool, int, bool]:
    """Runs in a spawned worker: use defaults, report whether it resolved."""
    is_instance = isinstance(proxy, Unpicklable)
    value_hash = hash(proxy)
    return is_instance, value_hash, is_resolved(proxy)


def resolve_in_child(proxy: Any) -> tuple[str, int, bool]:
    return type(proxy).__name__, len(proxy), is_resolved(proxy)


def implementation_in_child() -> str:
    import proxystore.proxy

    return proxystore.proxy.IMPLEMENTATION


def test_spawned_worker_uses_the_requested_core(spawn_pool: Any) -> None:
    child = spawn_pool.submit(implementation_in_child).result()
    assert child == spawn_pool.implementation


def test_cache_defaults_across_spawned_process(spawn_pool: Any) -> None:
    proxy = Proxy(
        LambdaFactory(make_unpicklable),
        cache_defaults=True,
        target=Unpicklable(),
    )
    is_instance, value_hash, resolved = spawn_pool.submit(
        inspect_in_child,
        proxy,
    ).result()
    assert is_instance
    assert value_hash == 1234
    assert resolved is False


def test_resolves_in_spawned_process(spawn_pool: Any) -> None:
    proxy = Proxy(LambdaFactory(list, range(5)))
    name, length, resolved = spawn_pool.submit(
        resolve_in_child, proxy
    ).result()
    assert (name, length, resolved) == ('Proxy', 5, True)
    assert not is_resolved(proxy)


def defaults_then_target_in_child(
    proxy: Any,
) -> tuple[bool, int, bool, tuple[Any, ...]]:
    """Use the cached defaults, then resolve from the store's files."""
    is_instance = isinstance(proxy, tuple)
    value_hash = hash(proxy)
    resolved = is_resolved(proxy)
    return is_instance, value_hash, resolved, tuple(proxy)


def test_store_populate_target_proxy_in_spawned_process(
    spawn_pool: Any,
    tmp_path: pathlib.Path,
) -> None:
    """Issue 2: `isinstance` and `hash` work in another process unresolved."""
    value = ('weights', 1.5, 3)
    connector = FileConnector(str(tmp_path / 'store'))
    with Store(f'populate-{tmp_path.name}', connector) as store:
        proxy = store.proxy(value, populate_target=True)
        assert is_resolved(proxy)
        is_instance, value_hash, resolved, target = spawn_pool.submit(
            defaults_then_target_in_child,
            proxy,
        ).result()
    assert is_instance
    assert value_hash == hash(value)
    assert resolved is False
    assert target == value


class OddHash:
    def __hash__(self) -> int:
        raise TypeError('not today')


def test_cached_hash_error_survives_pickling_unresolved() -> None:
    for target, message in (
        ({'a': 1}, "unhashable type: 'dict'"),
        (OddHash(), 'not today'),
    ):
        factory = SimpleFactory(target)
        proxy = Proxy(factory, cache_defaults=True, target=target)
        restored = pickle.loads(pickle.dumps(proxy))
        with pytest.raises(TypeError, match=message):
            hash(restored)
        assert isinstance(restored, type(target))
        assert not is_resolved(restored)


def test_usual_hash_error_pickles_compactly() -> None:
    target = [1, 2]
    cached = Proxy(SimpleFactory(target), cache_defaults=True, target=target)
    plain = Proxy(SimpleFactory(target), target=target)
    # Only the class reference is added, not a pickled exception.
    assert len(pickle.dumps(cached)) - len(pickle.dumps(plain)) < 30


def test_qualified_hash_error_pickles_compactly() -> None:
    np = pytest.importorskip('numpy')
    target = np.zeros(3)
    cached = Proxy(SimpleFactory(target), cache_defaults=True, target=target)
    plain = Proxy(SimpleFactory(target), target=target)
    # NumPy names its type with the module ('numpy.ndarray'); that form is
    # a marker too, and the restored error keeps NumPy's exact text.
    assert len(pickle.dumps(cached)) - len(pickle.dumps(plain)) < 30
    restored = pickle.loads(pickle.dumps(cached))
    with pytest.raises(TypeError, match=r"^unhashable type: 'numpy.ndarray'$"):
        hash(restored)
    assert not is_resolved(restored)
