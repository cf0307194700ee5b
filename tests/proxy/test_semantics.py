"""ProxyStore's exact proxy semantics (COMPAT-core X5, X8-X18), both cores."""

from __future__ import annotations

import abc
import operator
import weakref
from typing import Any

import pytest

from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy
from proxystore.proxy import ProxyLocker
from proxystore.proxy import ProxyMetaType
from proxystore.proxy import ProxyResolveError
from proxystore.proxy import as_metaclass
from proxystore.proxy import is_resolved


class Counting:
    def __init__(self, obj: Any) -> None:
        self.obj = obj
        self.calls = 0

    def __call__(self) -> Any:
        self.calls += 1
        return self.obj


class IntOnly:
    def __int__(self) -> int:
        return 2


class Documented:
    """Target doc."""

    x = 1


def test_index_falls_back_to_int() -> None:
    assert operator.index(Proxy(SimpleFactory(5))) == 5
    proxy = Proxy(SimpleFactory(IntOnly()))
    assert operator.index(proxy) == 2
    assert ['a', 'b', 'c'][proxy] == 'c'
    with pytest.raises(TypeError):
        operator.index(Proxy(SimpleFactory(object())))


def test_non_callable_factory() -> None:
    with pytest.raises(TypeError, match=r'^Factory must be callable\.$'):
        Proxy(42)  # type: ignore[arg-type]


def test_repr_never_resolves() -> None:
    factory = Counting([1])
    proxy = Proxy(factory)
    text = repr(proxy)
    assert text.startswith(f'<Proxy at 0x{id(proxy):x} with factory ')
    assert factory.calls == 0
    uninitialised = Proxy.__new__(Proxy)
    assert 'with factory None' in repr(uninitialised)


def test_proxy_target_raises_until_resolved() -> None:
    proxy = Proxy(Counting([1]))
    with pytest.raises(AttributeError):
        _ = proxy.__proxy_target__
    assert proxy.__proxy_resolved__ is False
    proxy.__proxy_wrapped__ = [2]
    assert proxy.__proxy_target__ == [2]
    assert proxy.__proxy_resolved__ is True
    del proxy.__proxy_wrapped__
    assert proxy.__proxy_resolved__ is False


def test_locker_hides_its_proxy() -> None:
    proxy = Proxy(Counting([1]))
    locker = ProxyLocker(proxy)
    with pytest.raises(
        AttributeError,
        match='Cannot access proxy attribute of a Locker',
    ):
        _ = locker._proxy
    assert locker.unlock() is proxy
    assert not is_resolved(proxy)


def test_special_names_forward_to_the_target() -> None:
    target = Documented()
    proxy = Proxy(SimpleFactory(target))
    assert proxy.__doc__ == 'Target doc.'
    assert proxy.__module__ == __name__
    assert proxy.__dict__ is target.__dict__
    assert proxy.__weakref__ is None  # the target has no weak references
    ref = weakref.ref(target)
    assert proxy.__weakref__ is ref
    cls_proxy = Proxy(SimpleFactory(Documented))
    assert cls_proxy.__weakref__ is Documented.__weakref__
    assert Proxy.__module__ == 'proxystore.proxy'
    assert 'Lazy, transparent proxy' in (Proxy.__doc__ or '')
    # The proxy itself can still be weakly referenced.
    assert weakref.ref(proxy)() is proxy


def _subclass(**namespace: Any) -> Any:
    return type('Sub', (Proxy,), namespace)


def test_late_class_attributes_are_found_on_instances() -> None:
    sub = _subclass()
    factory = Counting({'late': 'target'})
    proxy = sub(factory)
    sub.late = 'class'
    assert proxy.late == 'class'
    assert factory.calls == 0


class Plain:
    def __init__(self, **attributes: Any) -> None:
        self.__dict__.update(attributes)


# The C core remembers that a proxy's class defines no plain name; every
# change to the class or a base below must still be seen at once.


def test_class_attribute_added_after_forwarding_wins() -> None:
    sub = _subclass()
    proxy = sub(SimpleFactory(Plain(x='target')))
    assert proxy.x == 'target'
    sub.x = 'class'
    assert proxy.x == 'class'
    del sub.x
    assert proxy.x == 'target'


def test_base_class_attribute_added_after_forwarding_wins() -> None:
    base = _subclass()
    leaf = type('Leaf', (base,), {'__slots__': ()})
    proxy = leaf(SimpleFactory(Plain(x='target')))
    other = leaf(SimpleFactory(Plain(x='other')))
    assert (proxy.x, other.x) == ('target', 'other')
    base.x = property(lambda self: 'base')
    assert (proxy.x, other.x) == ('base', 'base')


def test_getattr_hook_added_after_forwarding_gets_missing_names() -> None:
    sub = _subclass()
    proxy = sub(SimpleFactory(Plain(x='target')))
    assert proxy.x == 'target'
    sub.__getattr__ = lambda self, name: f'hook {name}'
    assert proxy.x == 'hook x'
    assert proxy.anything == 'hook anything'


def test_getattr_hook_on_a_base_or_a_mixin_gets_missing_names() -> None:
    base = _subclass()
    leaf = type('Leaf', (base,), {'__slots__': ()})
    proxy = leaf(SimpleFactory(Plain(x='target')))
    assert proxy.x == 'target'
    base.__getattr__ = lambda self, name: f'base hook {name}'
    assert proxy.x == 'base hook x'
    del base.__getattr__
    assert proxy.x == 'target'

    class Mixin:
        __slots__ = ()

        def __getattr__(self, name: str) -> Any:
            return f'mixin hook {name}'

    mixed = type('Mixed', (Mixin, base), {'__slots__': ()})
    assert mixed(SimpleFactory(Plain(x='target'))).x == 'mixin hook x'


def test_new_target_is_used_after_forwarding() -> None:
    proxy = Proxy(SimpleFactory(Plain(x='first')))
    assert proxy.x == 'first'
    proxy.__proxy_wrapped__ = Plain(x='second')
    assert proxy.x == 'second'
    del proxy.__proxy_wrapped__
    assert proxy.x == 'first'  # the factory runs again


def test_public_names_of_a_subclass_stay_its_own() -> None:
    sub = _subclass(x='class', method=lambda self: 'class method')
    proxy = sub(SimpleFactory(Plain(x='target', y='target y')))
    for _ in range(3):
        assert (proxy.x, proxy.method(), proxy.y) == (
            'class',
            'class method',
            'target y',
        )


def test_nested_proxies_forward_plain_names() -> None:
    inner = Proxy(SimpleFactory(Plain(x='deep')))
    outer = Proxy(SimpleFactory(inner))
    for _ in range(3):
        assert outer.x == 'deep'
    outer.__proxy_wrapped__ = Plain(x='shallow')
    assert outer.x == 'shallow'


def test_unusual_names_forward_like_plain_ones() -> None:
    target = Plain(**{'ñame': 1, '': 2, '_private': 3})
    proxy = Proxy(SimpleFactory(target))
    for _ in range(3):
        assert getattr(proxy, 'ñame') == 1  # noqa: B009 (a non-ASCII name)
        assert getattr(proxy, '') == 2
        assert proxy._private == 3
    with pytest.raises(AttributeError, match='missing'):
        _ = proxy.missing


def test_subclass_getattr_gets_missing_names() -> None:
    def __getattr__(self: Any, name: str) -> Any:  # noqa: N807
        if name == 'magic':
            return 'from subclass'
        return super(sub, self).__getattr__(name)

    sub = _subclass(__getattr__=__getattr__)
    proxy = sub(SimpleFactory(Documented()))
    assert proxy.magic == 'from subclass'
    assert proxy.x == 1  # super().__getattr__ forwards to the target
    with pytest.raises(AttributeError):
        _ = proxy.missing


def test_proxy_answers_hasattr_for_its_hooks() -> None:
    proxy = Proxy(Counting(1))
    for name in ('__getattr__', '__setattr__', '__delattr__'):
        assert hasattr(proxy, name)
    assert not is_resolved(proxy)


def test_setattr_on_own_names_and_on_target() -> None:
    sub = _subclass(__slots__=('mine',))
    target = Documented()
    factory = Counting(target)
    proxy = sub(factory)
    proxy.mine = 'kept on the proxy'
    assert proxy.mine == 'kept on the proxy'
    assert factory.calls == 0
    assert not hasattr(target, 'mine')
    proxy.other = 'sent to the target'
    assert target.other == 'sent to the target'  # type: ignore[attr-defined]
    del proxy.other
    assert not hasattr(target, 'other')
    del proxy.mine
    with pytest.raises(AttributeError):
        _ = proxy.mine


def test_object_setattr_on_subclass_without_slots() -> None:
    sub = _subclass()
    factory = Counting(Documented())
    proxy = sub(factory)
    object.__setattr__(proxy, 'note', 'own')
    assert proxy.note == 'own'
    assert factory.calls == 0
    assert proxy.x == 1  # other names still forward


def _check_upstream_style_subclass(sub: Any) -> None:
    assert isinstance(sub, ProxyMetaType)
    assert issubclass(sub, Proxy)
    target = Documented()
    factory = Counting(target)
    proxy = sub(factory)
    assert proxy.__doc__ == 'Target doc.'
    assert proxy.__module__ == __name__
    assert factory.calls == 1
    assert isinstance(proxy, Documented)
    assert proxy.x == 1
    object.__setattr__(proxy, 'note', 'own')  # no __slots__: X15 holds
    assert proxy.note == 'own'
    assert not hasattr(target, 'note')
    assert sub.__doc__ == 'Upstream-style subclass.'


def test_subclass_with_proxy_metatype_keyword() -> None:
    class Sub(Proxy, metaclass=ProxyMetaType):  # type: ignore[misc]
        """Upstream-style subclass."""

    _check_upstream_style_subclass(Sub)


def test_subclass_through_as_metaclass() -> None:
    class Sub(as_metaclass(ProxyMetaType, Proxy)):  # type: ignore[misc]
        """Upstream-style subclass."""

    _check_upstream_style_subclass(Sub)
    # The helper base adds no instance layout of its own.
    assert Sub.__mro__[1].__dict__['__slots__'] == ()


def test_as_metaclass_without_bases_builds_on_object() -> None:
    base = as_metaclass(ProxyMetaType)
    assert base.__bases__ == (object,)
    assert type(base) is ProxyMetaType


def test_as_metaclass_with_a_conflicting_metaclass_is_a_type_error() -> None:
    with pytest.raises(TypeError, match='metaclass conflict'):
        as_metaclass(ProxyMetaType, Proxy, abc.ABC)
    # Proxy itself is untouched: still a plain type, still usable.
    assert type(Proxy) is type
    assert Proxy(Counting(3)) + 1 == 4


def test_orig_class_is_not_sent_to_the_target() -> None:
    factory = Counting(Documented())
    proxy = Proxy[Documented](factory)
    assert factory.calls == 0
    assert not hasattr(proxy.__proxy_wrapped__, '__orig_class__')


def test_del_proxy_factory_then_use() -> None:
    proxy = Proxy(Counting(1))
    del proxy.__proxy_factory__
    with pytest.raises(ProxyResolveError) as info:
        proxy + 1
    assert isinstance(info.value.cause, AttributeError)


def test_descriptor_target_binds_like_the_target() -> None:
    def method(self: Any) -> str:
        return f'bound to {type(self).__name__}'

    class Host:
        attr = Proxy(SimpleFactory(method))
        plain = Proxy(SimpleFactory(3))

    assert Host().attr() == 'bound to Host'
    assert Host().plain == 3


def test_buffer_protocol_forwards() -> None:
    import sys

    from tests.proxy.conftest import current_implementation

    if current_implementation() == 'python' and sys.version_info < (3, 12):
        pytest.skip('the pure-Python core needs 3.12 for __buffer__')
    proxy = Proxy(SimpleFactory(bytearray(b'abc')))
    assert bytes(memoryview(proxy)) == b'abc'


class Refusing:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.asked.append(name)
        raise AttributeError(f'no {name} here')


def test_missing_target_attribute_is_looked_up_once() -> None:
    target = Refusing()
    proxy = Proxy(SimpleFactory(target))
    assert not hasattr(proxy, 'absent')
    with pytest.raises(AttributeError, match='no other here'):
        _ = proxy.other
    assert target.asked == ['absent', 'other']
