"""Random operations on proxies of random objects behave like the objects.

Each example builds an object, applies one operation to it and to a proxy
of an identical copy, and requires the same result or the same exception
type. Runs on both cores; a crash in a C slot would kill the test process.
"""

from __future__ import annotations

import copy
import math
import operator
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import assume
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy
from proxystore.proxy import ProxyResolveError
from proxystore.proxy import extract
from proxystore.proxy import resolve

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False),
    st.complex_numbers(allow_nan=False, max_magnitude=1e6),
    st.text(max_size=5),
    st.binary(max_size=5),
)
objects = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=3), inner, max_size=3),
        st.frozensets(st.integers(-5, 5), max_size=4),
    ),
    max_leaves=6,
)


def set_one(obj: Any, key: Any) -> None:
    obj[key] = 1


def pow_mod(obj: Any, mod: Any) -> Any:
    return pow(obj, 2, mod)


# Where an index is expected, a proxy is converted with __index__, which
# falls back to int() (upstream rule X11): `lst[Proxy(0.0)]` is `lst[0]`
# and `Proxy(0.0) in b''` tests for the byte 0.
INDEX_USERS = (operator.getitem, operator.delitem, set_one, operator.contains)

UNARY: list[Callable[[Any], Any]] = [
    operator.neg,
    operator.pos,
    abs,
    operator.invert,
    operator.not_,
    bool,
    int,
    float,
    complex,
    str,
    bytes,
    len,
    hash,
    list,
    sorted,
    reversed,
    lambda o: list(reversed(o)),
    next,
    iter,
    round,
    math.floor,
    math.trunc,
    lambda o: f'{o}',
    lambda o: format(o, '>4'),
    lambda o: o(),
    lambda o: o.upper(),
    lambda o: o.real,
    lambda o: o.keys(),
    lambda o: o.missing,
    operator.length_hint,
]
BINARY: list[Callable[[Any, Any], Any]] = [
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.floordiv,
    operator.mod,
    divmod,
    operator.lshift,
    operator.rshift,
    operator.and_,
    operator.or_,
    operator.xor,
    operator.matmul,
    operator.eq,
    operator.ne,
    operator.lt,
    operator.le,
    operator.gt,
    operator.ge,
    operator.contains,
    operator.getitem,
    operator.delitem,
    set_one,
    lambda o, k: getattr(o, str(k)),
    pow_mod,
]
INPLACE: list[Callable[[Any, Any], Any]] = [
    operator.iadd,
    operator.isub,
    operator.imul,
    operator.iand,
    operator.ior,
    operator.ixor,
    operator.imod,
]


def outcome(func: Callable[[], Any]) -> tuple[str, Any]:
    try:
        result = func()
    except ProxyResolveError:  # pragma: no cover (would be a bug)
        raise
    except Exception as e:  # noqa: BLE001 (compared by type)
        return 'raised', type(e)
    if isinstance(result, Proxy):
        result = extract(result)
    if type(result).__name__.endswith('iterator') or isinstance(
        result,
        reversed,
    ):
        result = list(result)
    if isinstance(result, float) and math.isnan(result):
        return 'nan', None
    try:
        unequal = bool(result != result)
    except Exception:  # noqa: BLE001 (not comparable: compare the text)
        unequal = True
    if unequal:  # e.g. a tuple holding a NaN
        return 'repr', repr(result)
    return 'value', result


def proxy_of(obj: Any, resolved: bool = False) -> Any:
    """A proxy of a copy of `obj`, resolved first if asked.

    The C core takes shortcuts on resolved proxies only (lists indexed by
    an int, ints and floats, attribute names), so both kinds are fuzzed.
    """
    proxy = Proxy(SimpleFactory(copy.deepcopy(obj)))
    if resolved:
        resolve(proxy)
    return proxy


@settings(max_examples=150, deadline=None)
@given(objects, st.sampled_from(UNARY), st.booleans())
def test_unary_operations_match(
    obj: Any,
    op: Callable[[Any], Any],
    resolved: bool,
) -> None:
    expected = outcome(lambda: op(copy.deepcopy(obj)))
    assert outcome(lambda: op(proxy_of(obj, resolved))) == expected


@settings(max_examples=200, deadline=None)
@given(objects, objects, st.sampled_from(BINARY), st.booleans(), st.booleans())
def test_binary_operations_match(
    a: Any,
    b: Any,
    op: Callable[[Any, Any], Any],
    proxy_left: bool,
    resolved: bool,
) -> None:
    # `'%s' % p` treats any object with __getitem__ as a mapping of
    # arguments, and every proxy has one: not comparable.
    assume(not (op is operator.mod and isinstance(a, (str, bytes))))
    assume(
        proxy_left or op not in INDEX_USERS or hasattr(type(b), '__index__'),
    )
    # CPython never asks a Python class given only as the modulus of a
    # 3-argument pow (the pure-Python core raises TypeError there).
    assume(proxy_left or op is not pow_mod)
    expected = outcome(lambda: op(copy.deepcopy(a), copy.deepcopy(b)))
    if proxy_left:
        got = outcome(lambda: op(proxy_of(a, resolved), copy.deepcopy(b)))
    else:
        got = outcome(lambda: op(copy.deepcopy(a), proxy_of(b, resolved)))
    assert got == expected


@settings(max_examples=100, deadline=None)
@given(objects, objects, st.sampled_from(INPLACE))
def test_inplace_operations_match(
    a: Any,
    b: Any,
    op: Callable[[Any, Any], Any],
) -> None:
    assume(not (op is operator.imod and isinstance(a, (str, bytes))))
    expected = outcome(lambda: op(copy.deepcopy(a), copy.deepcopy(b)))
    proxy = proxy_of(a)
    got = outcome(lambda: op(proxy, copy.deepcopy(b)))
    assert got == expected
    if got[0] == 'value':
        assert extract(proxy) == got[1]


class Broken:
    """A factory result whose every special method raises."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(name)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(UNARY + [lambda o: o + 1, lambda o: 1 + o]))
def test_failing_factories_never_crash(op: Callable[[Any], Any]) -> None:
    def fail() -> Any:
        raise OSError('down')

    for proxy in (Proxy(fail), Proxy.__new__(Proxy)):
        try:
            op(proxy)
        except ProxyResolveError as e:
            assert e.cause is not None
    nested = Proxy(SimpleFactory(Proxy(fail)))
    try:
        op(nested)
    except ProxyResolveError:
        pass


@pytest.mark.parametrize(
    'op',
    [len, hash, str, repr, bool, iter, lambda p: p.append, lambda p: p[0]],
)
def test_deep_chains_of_proxies_raise_recursion_error(
    op: Callable[[Any], Any],
) -> None:
    chain = _CHAINS.get(Proxy)
    if chain is None:
        chain = _CHAINS[Proxy] = [1]
        for _ in range(50_000):
            chain = _CHAINS[Proxy] = Proxy(SimpleFactory(chain), target=chain)
    with pytest.raises(RecursionError):
        op(chain)


_CHAINS: dict[Any, Any] = {}


def test_freeing_a_deep_chain_does_not_overflow_the_stack() -> None:
    chain: Any = [1]
    for _ in range(50_000):
        chain = Proxy(SimpleFactory(chain), target=chain)
    del chain
