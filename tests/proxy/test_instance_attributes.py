"""A target's instance attributes, read through a proxy.

On CPython 3.11 the C core reads a plain instance attribute straight from
the target's value array, at the index the name has in the shared keys of
the target's type. These tests change everything that index depends on
(the attribute, the instance `__dict__`, the class and its bases, the
target's class, the set of names) and check after each change that the
proxy answers exactly what the target answers, error messages included.
They run on both cores and every Python version.
"""

from __future__ import annotations

import gc
import random
from typing import Any

import pytest

from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy
from proxystore.proxy import resolve


def make(obj: Any) -> Proxy[Any]:
    proxy = Proxy(SimpleFactory(obj))
    resolve(proxy)
    return proxy


def outcome(obj: Any, name: str) -> tuple[str, Any]:
    """What reading `name` on `obj` gives: a value or an error."""
    try:
        return ('value', getattr(obj, name))
    except Exception as e:
        return (type(e).__name__, str(e))


def same(target: Any, proxy: Any, *names: str) -> None:
    for name in names:
        assert outcome(proxy, name) == outcome(target, name), name


class Plain:
    def __init__(self) -> None:
        self.x = 1
        self.y = 'why'


def test_values_follow_assignment_and_deletion() -> None:
    target = Plain()
    proxy = make(target)
    same(target, proxy, 'x', 'y', 'z')
    target.x = 2
    same(target, proxy, 'x')
    del target.x
    assert outcome(proxy, 'x')[0] == 'AttributeError'
    same(target, proxy, 'x', 'y')
    target.x = 3
    same(target, proxy, 'x')


def test_values_follow_the_instance_dict() -> None:
    target = Plain()
    proxy = make(target)
    same(target, proxy, 'x')
    vars(target)['x'] = 'through the dict'
    same(target, proxy, 'x')
    vars(target).clear()
    same(target, proxy, 'x', 'y')
    target.__dict__ = {'x': 'new dict'}
    same(target, proxy, 'x', 'y')


def test_names_added_to_the_type_later_are_found() -> None:
    class Growing:
        pass

    first = Growing()
    proxy = make(first)
    same(first, proxy, 'late')
    first.late = 'now'  # type: ignore[attr-defined]
    same(first, proxy, 'late')
    second = Growing()
    second.other = 1  # type: ignore[attr-defined]
    second.late = 'second'  # type: ignore[attr-defined]
    same(second, make(second), 'late', 'other')


@pytest.mark.parametrize('owner', ['the class', 'a base'])
def test_class_attributes_added_later_take_their_place(owner: str) -> None:
    class Base:
        pass

    class Child(Base):
        def __init__(self) -> None:
            self.x = 'instance'

    changed = Child if owner == 'the class' else Base
    target = Child()
    proxy = make(target)
    same(target, proxy, 'x')
    changed.x = property(lambda self: owner)  # type: ignore[attr-defined]
    same(target, proxy, 'x')
    del changed.x  # type: ignore[attr-defined]
    same(target, proxy, 'x')
    changed.x = 'class value'  # type: ignore[attr-defined]
    same(target, proxy, 'x')
    del target.x
    same(target, proxy, 'x')


def test_attribute_hooks_added_to_the_class_take_effect() -> None:
    class Hooked:
        def __init__(self) -> None:
            self.x = 'instance'

    target = Hooked()
    proxy = make(target)
    same(target, proxy, 'x', 'missing')
    Hooked.__getattr__ = lambda self, name: f'fallback {name}'  # type: ignore[attr-defined]
    same(target, proxy, 'x', 'missing')
    Hooked.__getattribute__ = lambda self, name: f'hooked {name}'  # type: ignore[method-assign,assignment]
    same(target, proxy, 'x', 'missing')
    del Hooked.__getattribute__
    del Hooked.__getattr__  # type: ignore[attr-defined]
    same(target, proxy, 'x', 'missing')


def test_reassigned_target_class_is_followed() -> None:
    class Before:
        def __init__(self) -> None:
            self.x = 'instance'

    class After:
        x = property(lambda self: 'after')

    target = Before()
    proxy = make(target)
    same(target, proxy, 'x')
    target.__class__ = After
    same(target, proxy, 'x')


def test_equal_names_that_are_not_the_same_object() -> None:
    target = Plain()
    proxy = make(target)
    built = ''.join(['x'])
    same(target, proxy, built, 'x', ''.join(['m', 'issing']))


def test_many_attributes_beyond_the_shared_keys() -> None:
    class Wide:
        pass

    target = Wide()
    proxy = make(target)
    names = [f'a{i}' for i in range(50)]
    for i, name in enumerate(names):
        setattr(target, name, i)
        same(target, proxy, *names[: i + 1])


def test_subclass_of_a_builtin_with_attributes() -> None:
    class Tagged(list[int]):
        pass

    target = Tagged([1, 2])
    target.tag = 'tag'  # type: ignore[attr-defined]
    proxy = make(target)
    same(target, proxy, 'tag', 'append', 'missing')


def test_slots_and_builtin_targets() -> None:
    class Slotted:
        __slots__ = ('x',)

        def __init__(self) -> None:
            self.x = 'slot'

    slotted = Slotted()
    same(slotted, make(slotted), 'x', 'missing')
    del slotted.x
    same(slotted, make(slotted), 'x')
    same(3, make(3), 'real', 'missing')


def test_many_types_and_names_at_once() -> None:
    # Many more (type, name) pairs than the C core's lookup cache holds,
    # each type with its own order of names (so that the same name has
    # different indices), read in a shuffled order, with types dying and
    # new ones (new version tags, possibly at reused addresses) taking
    # their place.
    rng = random.Random(9)
    names = [f'n{i}' for i in range(8)]
    for _ in range(3):
        classes = [type(f'T{i}', (), {}) for i in range(320)]
        pairs = []
        for cls in classes:
            target = cls()
            for name in rng.sample(names, 5):
                setattr(target, name, (cls.__name__, name))
            pairs.extend((target, name) for name in names)
        proxies = {id(target): make(target) for target, _ in pairs}
        rng.shuffle(pairs)
        for target, name in pairs:
            same(target, proxies[id(target)], name)
        del classes, pairs, proxies, target
        gc.collect()


@pytest.mark.parametrize('kind', ['property', 'method', 'classvar'])
def test_class_names_shadowing_instance_values(kind: str) -> None:
    class Shadow:
        pass

    target = Shadow()
    target.__dict__['x'] = 'in the instance dict'
    proxy = make(target)
    same(target, proxy, 'x')
    value: Any = {
        'property': property(lambda self: 'property'),
        'method': lambda self: 'method',
        'classvar': 'class',
    }[kind]
    Shadow.x = value  # type: ignore[attr-defined]
    same(target, proxy, 'x')
