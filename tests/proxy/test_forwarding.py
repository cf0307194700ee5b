from __future__ import annotations

import asyncio
import math
import operator
import pathlib
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume
from hypothesis import given
from hypothesis import strategies as st

from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy
from proxystore.proxy import extract
from proxystore.proxy import is_resolved


def make(obj: Any) -> Proxy[Any]:
    return Proxy(SimpleFactory(obj))


class Point:
    cls_attr = 'class-level'

    def __init__(self, x: int, y: int) -> None:
        self.x = x
        self.y = y

    def norm1(self) -> int:
        return abs(self.x) + abs(self.y)

    @property
    def swapped(self) -> tuple[int, int]:
        return (self.y, self.x)

    def __call__(self, a: int, *, b: int = 0) -> int:
        return self.x + a + b


class Context:
    def __init__(self) -> None:
        self.events: list[str] = []

    def __enter__(self) -> str:
        self.events.append('enter')
        return 'value'

    def __exit__(self, *args: Any) -> None:
        self.events.append('exit')

    async def __aenter__(self) -> str:
        self.events.append('aenter')
        return 'avalue'

    async def __aexit__(self, *args: Any) -> None:
        self.events.append('aexit')


class AsyncCounter:
    def __init__(self, n: int) -> None:
        self.i = 0
        self.n = n

    def __aiter__(self) -> AsyncCounter:
        return self

    async def __anext__(self) -> int:
        if self.i >= self.n:
            raise StopAsyncIteration
        self.i += 1
        return self.i


class Awaitable:
    def __await__(self) -> Any:
        yield from asyncio.sleep(0).__await__()
        return 42


UNARY: list[tuple[str, Any, Callable[[Any], Any]]] = [
    ('neg', 3, operator.neg),
    ('pos', -3, operator.pos),
    ('abs', -3, abs),
    ('invert', 5, operator.invert),
    ('int', 3.7, int),
    ('float', 3, float),
    ('complex', 2 + 3j, complex),
    ('index', 5, operator.index),
    ('bool-true', [1], bool),
    ('bool-false', [], bool),
    ('len', [1, 2, 3], len),
    ('iter', [1, 2, 3], list),
    ('reversed', [1, 2, 3], lambda o: list(reversed(o))),
    ('contains', [1, 2, 3], lambda o: 2 in o),
    ('getitem', {'a': 1}, lambda o: o['a']),
    ('slice', [1, 2, 3, 4], lambda o: o[1:3]),
    ('str', 12.5, str),
    ('format', 3.14159, lambda o: f'{o:.2f}'),
    ('bytes', b'abc', bytes),
    ('round', 3.14159, lambda o: round(o, 2)),
    ('round0', 2.5, round),
    ('floor', 3.7, math.floor),
    ('ceil', 3.2, math.ceil),
    ('trunc', -3.7, math.trunc),
    ('hash', (1, 2), hash),
    ('fspath', pathlib.Path('/tmp/x'), lambda o: str(pathlib.Path(o))),
    ('dir', Point(1, 2), dir),
    ('method', Point(1, -2), lambda o: o.norm1()),
    ('property', Point(1, 2), lambda o: o.swapped),
    ('class-attr', Point(1, 2), lambda o: o.cls_attr),
    ('call', Point(1, 2), lambda o: o(2, b=3)),
    ('vars', Point(1, 2), vars),
    ('sorted', [3, 1, 2], sorted),
    ('max', [3, 1, 2], max),
]


@pytest.mark.parametrize(
    ('target', 'op'),
    [(t, op) for _, t, op in UNARY],
    ids=[name for name, _, _ in UNARY],
)
def test_unary_operations_forward(
    target: Any, op: Callable[[Any], Any]
) -> None:
    expected = op(target)
    proxy = make(target)
    assert not is_resolved(proxy)
    assert op(proxy) == expected
    assert is_resolved(proxy)


BINARY = [
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.floordiv,
    operator.mod,
    operator.pow,
    operator.lshift,
    operator.rshift,
    operator.and_,
    operator.or_,
    operator.xor,
    divmod,
    operator.eq,
    operator.ne,
    operator.lt,
    operator.le,
    operator.gt,
    operator.ge,
]
INPLACE = [
    operator.iadd,
    operator.isub,
    operator.imul,
    operator.itruediv,
    operator.ipow,
    operator.ifloordiv,
    operator.imod,
    operator.ilshift,
    operator.irshift,
    operator.iand,
    operator.ior,
    operator.ixor,
]


@given(st.integers(-1000, 1000), st.integers(1, 12))
@pytest.mark.parametrize('op', BINARY, ids=lambda op: op.__name__)
def test_binary_and_reflected_forward(op: Any, a: int, b: int) -> None:
    assert op(make(a), b) == op(a, b)
    assert op(a, make(b)) == op(a, b)  # reflected
    assert op(make(a), make(b)) == op(a, b)


NUMBER_OPERATIONS = [
    op for op in BINARY if op not in (operator.pow,) and 'eq' not in repr(op)
] + [operator.matmul]
NUMBERS = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(-3, 3),
    st.floats(allow_nan=False),
    st.booleans(),
)


def outcome(op: Any, a: Any, b: Any) -> Any:
    try:
        return ('value', repr(op(a, b)))  # repr: nan equals nan
    except Exception as e:  # the same error type and message either way
        return ('error', type(e), str(e))


@given(NUMBERS, NUMBERS)
@pytest.mark.parametrize('op', NUMBER_OPERATIONS, ids=lambda op: op.__name__)
def test_resolved_number_operations_match_the_target(
    op: Any, a: Any, b: Any
) -> None:
    # Resolved proxies of ints and floats take a shortcut in the C core.
    if op is operator.lshift and isinstance(b, int):
        assume(b < 1000 or b > 2**64)  # no gigantic results
    left, right = make(a), make(b)
    _ = extract(left), extract(right)
    expected = outcome(op, a, b)
    assert outcome(op, left, b) == expected
    assert outcome(op, a, right) == expected
    assert outcome(op, left, right) == expected


@given(st.integers(-1000, 1000), st.integers(1, 12))
@pytest.mark.parametrize('op', INPLACE, ids=lambda op: op.__name__)
def test_inplace_keeps_proxy(op: Any, a: int, b: int) -> None:
    proxy = make(a)
    result = op(proxy, b)
    assert type(result) is Proxy
    assert result == op(a, b)


def test_inplace_mutates_mutable_target() -> None:
    target = [1]
    proxy = make(target)
    proxy += [2]
    assert type(proxy) is Proxy
    assert target == [1, 2]


def test_three_argument_pow_and_matmul() -> None:
    np = pytest.importorskip('numpy')
    assert pow(make(3), 4, 5) == pow(3, 4, 5)
    a = np.arange(4).reshape(2, 2)
    assert (make(a) @ a == a @ a).all()
    assert (a @ make(a) == a @ a).all()
    product = make(a.copy())
    product @= a
    assert type(product) is Proxy
    assert (product == a @ a).all()
    assert (np.asarray(make(a)) == a).all()


def test_attribute_get_set_delete_forward() -> None:
    target = Point(1, 2)
    proxy = make(target)
    assert proxy.x == 1
    proxy.x = 10
    proxy.z = 'new'
    assert target.x == 10
    assert target.z == 'new'  # type: ignore[attr-defined]
    del proxy.z
    assert not hasattr(target, 'z')
    assert not hasattr(proxy, 'z')
    with pytest.raises(AttributeError):
        _ = proxy.missing


def test_item_set_and_delete_forward() -> None:
    target: dict[str, int] = {}
    proxy = make(target)
    proxy['a'] = 1
    assert target == {'a': 1}
    del proxy['a']
    assert target == {}


class IndexList(list[int]):
    """A list subclass whose indexing must not be bypassed."""

    def __getitem__(self, key: Any) -> Any:
        return ('sub', super().__getitem__(key))


class Index:
    def __init__(self, value: int) -> None:
        self.value = value

    def __index__(self) -> int:
        return self.value


SEQUENCE_KEYS = [
    0,
    2,
    -1,
    -3,
    True,
    False,
    2**31,
    -(2**31),
    2**40,
    2**70,
    -(2**70),
    Index(1),
    slice(1, None),
    '0',
    1.0,
    None,
]


@pytest.mark.parametrize('kind', [list, tuple, IndexList])
@pytest.mark.parametrize('key', SEQUENCE_KEYS, ids=repr)
def test_sequence_indexing_matches_target(kind: Any, key: Any) -> None:
    # lists and tuples indexed by an int take a shortcut in the C core:
    # results and errors (type and message) must be the target's own.
    target = kind([10, 20, 30])
    proxy = make(target)
    _ = proxy[0]
    try:
        expected: Any = target[key]
    except Exception as e:
        with pytest.raises(type(e)) as info:
            _ = proxy[key]
        assert str(info.value) == str(e)
    else:
        assert proxy[key] == expected
    assert list(target) == [10, 20, 30]


def test_sequence_indexing_sees_later_changes() -> None:
    target = [1, 2, 3]
    proxy = make(target)
    assert proxy[2] == 3
    target.append(4)
    target[0] = 'first'
    assert (proxy[0], proxy[3], proxy[-1]) == ('first', 4, 4)
    target.clear()
    with pytest.raises(IndexError, match='list index out of range'):
        _ = proxy[0]


def test_context_manager_forwards() -> None:
    target = Context()
    with make(target) as value:
        assert value == 'value'
    assert target.events == ['enter', 'exit']


def test_async_protocols_forward() -> None:
    async def main() -> tuple[Any, ...]:
        ctx = Context()
        async with make(ctx) as value:
            assert value == 'avalue'
        items = [i async for i in make(AsyncCounter(3))]
        awaited = await make(Awaitable())

        async def coro() -> int:
            return 7

        awaited_coro = await make(coro())
        return ctx.events, items, awaited, awaited_coro

    events, items, awaited, awaited_coro = asyncio.run(main())
    assert events == ['aenter', 'aexit']
    assert items == [1, 2, 3]
    assert awaited == 42
    assert awaited_coro == 7


def test_isinstance_and_class_report_target() -> None:
    proxy = make([1, 2])
    assert isinstance(proxy, list)
    assert proxy.__class__ is list
    assert type(proxy) is Proxy
    assert isinstance(proxy, Proxy)


def class_of(obj: Any) -> Any:
    return obj.__class__


class _Pretender:
    """A target whose `__class__` is not its type (as mocks do)."""

    @property  # type: ignore[misc]
    def __class__(self) -> type:
        return int


def test_class_is_what_the_target_reports() -> None:
    proxy = make(_Pretender())
    assert class_of(proxy) is int
    assert isinstance(proxy, int)
    assert type(proxy) is Proxy


def test_class_of_a_proxy_of_a_proxy_is_the_inner_target_class() -> None:
    inner = make([1])
    outer = make(inner)
    assert class_of(outer) is list
    assert isinstance(outer, list)
    assert is_resolved(outer)
    assert is_resolved(inner)


def test_class_follows_the_target_after_its_class_changes() -> None:
    # The C core remembers that a target's type has object's __class__:
    # reassigning the target's class, or giving its class a __class__
    # property later, must show at once.
    class Before:
        pass

    class After:
        pass

    target = Before()
    proxy = make(target)
    assert isinstance(proxy, Before)
    target.__class__ = After
    assert class_of(proxy) is After
    assert isinstance(proxy, After)
    assert not isinstance(proxy, Before)

    def pretend(self: Any, name: str) -> Any:
        if name == '__class__':
            return int
        return object.__getattribute__(self, name)

    After.__getattribute__ = pretend  # type: ignore[method-assign]
    assert class_of(proxy) is int
    assert isinstance(proxy, int)
    del After.__getattribute__
    assert class_of(proxy) is After
    proxy.__proxy_target__ = [1]
    assert class_of(proxy) is list


def test_class_of_an_unresolved_proxy_resolves_it() -> None:
    proxy = make({'a': 1})
    assert not is_resolved(proxy)
    assert class_of(proxy) is dict
    assert is_resolved(proxy)


def test_hasattr_reflects_target_for_plain_names() -> None:
    proxy = make([1, 2])
    assert hasattr(proxy, 'append')
    assert not hasattr(proxy, 'missing')
    # Special methods and the proxy's own hooks are the proxy's.
    for name in ('__next__', '__getattr__', '__setattr__', '__delattr__'):
        assert hasattr(proxy, name)


def test_copy_and_deepcopy_make_new_unresolved_proxies() -> None:
    import copy

    target = {'a': [1]}
    factory = SimpleFactory(target)
    proxy = Proxy(factory)
    assert proxy == target
    shallow = copy.copy(proxy)
    assert type(shallow) is Proxy
    assert not is_resolved(shallow)
    assert shallow.__proxy_factory__ is factory
    deep = copy.deepcopy(proxy)
    assert type(deep) is Proxy
    assert not is_resolved(deep)
    assert deep.__proxy_factory__ is not factory
    assert deep == target
    assert extract(deep)['a'] is not target['a']


def test_deepcopy_does_not_use_the_targets_deepcopy() -> None:
    import copy

    import numpy as np

    proxy = make(np.arange(3))
    assert type(copy.deepcopy(proxy)) is Proxy


def test_next_forwards_to_iterator_target() -> None:
    proxy = make(iter([7, 8]))
    assert next(proxy) == 7
    assert list(proxy) == [8]


def test_extract_returns_target_itself() -> None:
    target = object()
    assert extract(make(target)) is target


def test_unhashable_target_hash_raises() -> None:
    with pytest.raises(TypeError):
        hash(make([1]))


def test_str_forwards_and_repr_describes_the_proxy() -> None:
    target = {'k': 'v'}
    factory = SimpleFactory(target)
    proxy = Proxy(factory)
    assert repr(proxy) == (
        f'<Proxy at 0x{id(proxy):x} with factory {factory!r}>'
    )
    assert not is_resolved(proxy)
    assert str(proxy) == str(target)
    assert repr(proxy) == (
        f'<Proxy at 0x{id(proxy):x} wrapping {target!r} at '
        f'0x{id(target):x} with factory {factory!r}>'
    )
