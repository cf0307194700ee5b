"""Proxy overhead: operations on a resolved proxy vs the same on its target.

Each figure is the best-of-N per-operation time of a `timeit` loop (loop
overhead included on both sides, so ratios are conservative lower bounds
of the true per-op slowdown only when the op itself dominates).

The attribute-access floor rows measure why `p.x <= 1.5x t.x` is out of
reach on CPython 3.11: `t.x` in a loop is a *specialized* instruction
(`LOAD_ATTR_INSTANCE_VALUE`), while any proxy ends in the *generic* lookup
on the target (`PyObject_GetAttr`), which alone costs over 2x as much. The
same `o.x` at a call site that sees two types (so it cannot specialize)
measures that generic lookup, loop overhead subtracted.
"""

from __future__ import annotations

import pickle
import timeit
from typing import Any

from lazy_object_proxy.cext import Proxy as CProxy

from benchmarks.common import Row
from benchmarks.common import interleaved_best
from benchmarks.common import ratio_row
from proxystore.factory import LambdaFactory
from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy
from proxystore.proxy import resolve

SECTION = 'proxy'


class Target:
    def __init__(self) -> None:
        self.x = 1

    def method(self) -> int:
        return 1


class OtherTarget(Target):
    """A second type with the same attribute, to defeat specialization."""


class PlainCProxy(CProxy):  # type: ignore[misc]
    """The C base class with no attribute hooks, for comparison."""


def _per_op(stmt: str, env: dict[str, Any], number: int, repeat: int) -> float:
    timer = timeit.Timer(stmt, globals=env)
    return min(timer.repeat(repeat=repeat, number=number)) / number


class _Loop:
    """`number` runs of one statement as a single timed case."""

    def __init__(self, stmt: str, env: dict[str, Any], number: int) -> None:
        self._timer = timeit.Timer(stmt, globals=env)
        self._number = number

    def __call__(self) -> None:
        self._timer.timeit(self._number)

    def reset(self) -> None:
        pass


_UNROLL = 10


def _site_cost(objs: list[Any], repeat: int) -> float:
    """Seconds per `o.x` over `objs`, loop overhead subtracted.

    Each of the `_UNROLL` copies of `o.x` is its own call site, so each
    sees exactly the types in `objs`; unrolling keeps the subtracted loop
    overhead small next to what is measured.
    """
    env = {'objs': objs}
    loop = _per_op('for o in objs: pass', env, 1, repeat)
    body = ''.join('\n    o.x' for _ in range(_UNROLL))
    access = _per_op(f'for o in objs:{body}', env, 1, repeat)
    return max(access - loop, 1e-12) / (len(objs) * _UNROLL)


def _attribute_floor_rows(target: Any, quick: bool) -> list[Row]:
    """Specialized vs generic `t.x`, and `p.x` against the generic one."""
    count = 10_000 if quick else 50_000
    repeat = 9 if quick else 25
    proxy = _resolved(target)
    specialized = _site_cost([target] * count, repeat)
    generic = _site_cost([target, OtherTarget()] * (count // 2), repeat)
    proxied = _site_cost([proxy] * count, repeat)
    floor = Row(
        SECTION,
        'floor: t.x at a polymorphic vs a monomorphic site',
        generic / specialized,
        'x',
        detail=(
            f'generic {generic * 1e9:.1f} ns vs specialized '
            f'{specialized * 1e9:.1f} ns per access (loop subtracted); '
            'every proxy pays at least the generic lookup'
        ),
    )
    above = Row(
        SECTION,
        'p.x vs t.x at a polymorphic site (proxy cost above the floor)',
        proxied / generic,
        'x',
        detail=(
            f'{proxied * 1e9:.1f} ns vs {generic * 1e9:.1f} ns per access '
            '(loop subtracted)'
        ),
    )
    return [floor, above]


def _resolved(obj: Any) -> Proxy[Any]:
    proxy = Proxy(SimpleFactory(obj))
    resolve(proxy)
    return proxy


def run(quick: bool) -> list[Row]:
    number = 100_000 if quick else 1_000_000
    repeat = 5 if quick else 9
    target = Target()
    items = [1, 2, 3]
    plain = PlainCProxy(lambda: target)
    plain.__wrapped__  # noqa: B018 (resolve it)
    env: dict[str, Any] = {
        't': target,
        'p': _resolved(target),
        'lst': items,
        'pl': _resolved(items),
        'n': 7,
        'pn': _resolved(7),
        'c': plain,
    }

    def compare(
        name: str,
        proxied: str,
        direct: str,
        limit: float = 1.5,
    ) -> Row:
        # Alternating rounds keep warm-up and CPU frequency drift from
        # favouring whichever statement is timed second.
        measured, baseline = (
            best / number
            for best in interleaved_best(
                [_Loop(proxied, env, number), _Loop(direct, env, number)],
                repeat,
            )
        )
        row = ratio_row(SECTION, name, measured, baseline, limit, direct)
        row.detail = (
            f'{measured * 1e9:.1f} ns vs {baseline * 1e9:.1f} ns per op'
        )
        return row

    rows = [
        compare('len(p), resolved', 'len(pl)', 'len(lst)'),
        compare('p.x instance attribute, resolved', 'p.x', 't.x'),
    ]
    for name, proxied, direct in [
        ('p.method() call, resolved', 'p.method()', 't.method()'),
        ('p[i] item access, resolved', 'pl[1]', 'lst[1]'),
        ('p + 1 arithmetic, resolved', 'pn + 1', 'n + 1'),
        ('iter over p, resolved', 'for _ in pl: pass', 'for _ in lst: pass'),
        (
            'isinstance(p, list), resolved',
            'isinstance(pl, list)',
            'isinstance(lst, list)',
        ),
        ('hash(p), resolved', 'hash(pn)', 'hash(n)'),
        ('C base alone (no hooks): c.x', 'c.x', 't.x'),
    ]:
        row = compare(name, proxied, direct)
        row.target, row.ok = '', None
        rows.append(row)
    rows.extend(_attribute_floor_rows(target, quick))

    create = _per_op(
        'Proxy(f)',
        {'Proxy': Proxy, 'f': SimpleFactory(1)},
        number // 10,
        repeat,
    )
    rows.append(Row(SECTION, 'create Proxy(factory)', create * 1e9, 'ns'))
    big = Proxy(LambdaFactory(bytes, 10_000_000))
    resolve(big)
    pickled = len(pickle.dumps(big))
    rows.append(
        Row(
            SECTION,
            'pickled size of a resolved proxy of 10 MB bytes',
            pickled,
            'bytes',
            detail='LambdaFactory(bytes, 10**7): only the factory is pickled',
        ),
    )
    return rows
