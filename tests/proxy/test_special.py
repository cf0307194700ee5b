from __future__ import annotations

from typing import Any
from typing import TypeVar
from typing import get_args

import pytest

from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy
from proxystore.proxy import Proxy as PublicProxy
from proxystore.proxy import ProxyOr
from proxystore.proxy import extract
from proxystore.proxy import get_factory
from proxystore.proxy import is_resolved
from proxystore.proxy import resolve
from tests.proxy.conftest import IMPLEMENTATIONS
from tests.proxy.conftest import proxy_class

T = TypeVar('T')


class CountingFactory:
    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        return self.obj


def test_special_attributes_do_not_resolve() -> None:
    factory = CountingFactory([1, 2])
    proxy = Proxy(factory)
    assert proxy.__proxy_factory__ is factory
    assert proxy.__proxy_resolved__ is False
    with pytest.raises(AttributeError):
        _ = proxy.__proxy_target__
    assert proxy.__proxy_default_class__ is None
    assert proxy.__proxy_default_hash__ is None
    assert factory.calls == 0


def test_proxy_wrapped_resolves_sets_and_deletes() -> None:
    factory = CountingFactory([1, 2])
    proxy = Proxy(factory)
    assert proxy.__proxy_wrapped__ == [1, 2]
    assert factory.calls == 1
    assert proxy.__proxy_resolved__ is True
    assert proxy.__proxy_target__ == [1, 2]

    proxy.__proxy_wrapped__ = [3]
    assert proxy == [3]
    assert factory.calls == 1

    del proxy.__proxy_wrapped__
    assert not is_resolved(proxy)
    assert proxy == [1, 2]
    assert factory.calls == 2


def test_proxy_target_setter() -> None:
    proxy: Proxy[list[int]] = Proxy(CountingFactory([1]))
    proxy.__proxy_target__ = [9]
    assert is_resolved(proxy)
    assert proxy == [9]


def test_target_prepopulates_without_calling_factory() -> None:
    factory = CountingFactory('unused')
    target = {'a': 1}
    proxy = Proxy(factory, target=target)
    assert is_resolved(proxy)
    assert extract(proxy) is target
    assert factory.calls == 0


def test_cache_defaults_records_class_and_hash() -> None:
    proxy = Proxy(CountingFactory('x'), cache_defaults=True, target='abc')
    assert proxy.__proxy_default_class__ is str
    assert proxy.__proxy_default_hash__ == hash('abc')


def test_cache_defaults_without_target_does_nothing() -> None:
    factory = CountingFactory((1, 2))
    proxy = Proxy(factory, cache_defaults=True)
    assert factory.calls == 0
    assert not is_resolved(proxy)
    assert proxy.__proxy_default_class__ is None
    assert proxy.__proxy_default_hash__ is None


def test_cache_defaults_unhashable_target_keeps_the_error() -> None:
    factory = CountingFactory([1])
    proxy = Proxy(factory, cache_defaults=True, target=[1])
    assert proxy.__proxy_default_class__ is list
    error = proxy.__proxy_default_hash__
    assert isinstance(error, TypeError)
    del proxy.__proxy_wrapped__
    with pytest.raises(TypeError) as info:
        hash(proxy)
    assert info.value is error
    assert not is_resolved(proxy)
    assert factory.calls == 0


def test_defaults_answer_isinstance_and_hash_when_unresolved() -> None:
    proxy = Proxy(CountingFactory(5), cache_defaults=True, target=5)
    del proxy.__proxy_wrapped__
    factory = get_factory(proxy)
    assert isinstance(factory, CountingFactory)
    assert isinstance(proxy, int)
    assert hash(proxy) == hash(5)
    assert not is_resolved(proxy)
    assert factory.calls == 0


def test_functions_reject_non_proxies() -> None:
    for func in (extract, get_factory, is_resolved, resolve):
        with pytest.raises(TypeError, match='Expected a Proxy'):
            func([1])  # type: ignore[arg-type]


def test_resolve_and_is_resolved() -> None:
    factory = CountingFactory(1)
    proxy = Proxy(factory)
    assert not is_resolved(proxy)
    resolve(proxy)
    resolve(proxy)
    assert is_resolved(proxy)
    assert factory.calls == 1


def test_non_callable_factory_is_rejected() -> None:
    with pytest.raises(TypeError, match='Factory must be callable'):
        Proxy(42)  # type: ignore[arg-type]


def test_generic_alias_construction_does_not_resolve() -> None:
    factory = CountingFactory(1)
    proxy = Proxy[int](factory)
    assert factory.calls == 0
    assert proxy == 1


def test_own_attribute_names_are_not_forwarded() -> None:
    proxy = Proxy(CountingFactory(1))
    proxy.__proxy_factory__ = SimpleFactory(2)
    with pytest.raises(AttributeError):
        del proxy.__proxy_resolved__
    with pytest.raises(AttributeError):
        proxy.__proxy_resolved__ = True
    assert not is_resolved(proxy)
    assert proxy == 2


def test_weakref_to_proxy() -> None:
    import weakref

    proxy = Proxy(CountingFactory(1))
    ref = weakref.ref(proxy)
    assert ref() is proxy
    del proxy
    assert ref() is None


class _TaggedBody:
    """Subclass with own methods and pickled state."""

    def tag(self) -> str:
        return 'tagged'

    def __proxy_getstate__(self) -> Any:
        return {'extra': 1}

    def __proxy_setstate__(self, state: Any) -> None:
        _RESTORED.append(state)


_RESTORED: list[Any] = []


def _per_core(name: str, body: type, slots: tuple[str, ...] = ()) -> Any:
    """One module-level (so picklable) subclass of each core's Proxy."""
    classes = {}
    for impl in IMPLEMENTATIONS:
        qualname = f'{name}_{impl}'
        namespace = {
            k: v for k, v in vars(body).items() if k not in ('__dict__',)
        }
        namespace.update(
            __qualname__=qualname,
            __module__=__name__,
            __slots__=slots,
        )
        namespace.pop('__weakref__', None)
        try:
            base = proxy_class(impl)
        except BaseException:  # noqa: BLE001 (C core not built: skipped)
            continue
        cls = type(qualname, (base,), namespace)
        globals()[qualname] = cls
        classes[impl] = cls
    return classes


TAGGED = _per_core('Tagged', _TaggedBody)


@pytest.fixture
def Tagged(implementation: str) -> Any:  # noqa: N802
    return TAGGED[implementation]


def test_subclass_own_methods_and_forwarding(Tagged: Any) -> None:  # noqa: N803
    proxy = Tagged(SimpleFactory({'k': 1}))
    assert proxy.tag() == 'tagged'
    assert not is_resolved(proxy)
    assert proxy['k'] == 1
    assert type(proxy) is Tagged
    assert isinstance(proxy, Proxy)
    assert isinstance(proxy, dict)


def test_subclass_names_do_not_leak_into_base_proxy() -> None:
    class HasTag:
        def tag(self) -> str:
            return 'target'

    assert Proxy(SimpleFactory(HasTag())).tag() == 'target'


class _SlottedBody:
    def note(self) -> str:
        return self._proxy_note

    def set_note(self, note: str) -> None:
        self._proxy_note = note


SLOTTED = _per_core('Slotted', _SlottedBody, ('_proxy_note',))


def test_subclass_slot_state_stays_on_proxy(implementation: str) -> None:
    target: dict[str, Any] = {}
    proxy = SLOTTED[implementation](SimpleFactory(target))
    proxy.set_note('mine')
    assert proxy.note() == 'mine'
    assert target == {}
    assert not is_resolved(proxy)


def double(value: ProxyOr[int]) -> int:
    return value * 2


def test_proxy_or_alias() -> None:
    assert ProxyOr.__name__ == 'ProxyOr'
    assert get_args(ProxyOr[int]) == (int,)
    proxied, plain = get_args(ProxyOr.__value__)
    assert get_args(proxied) == (plain,)
    assert proxied.__origin__ is PublicProxy
    assert double(3) == double(Proxy(SimpleFactory(3))) == 6
