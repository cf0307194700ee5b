from __future__ import annotations

import pickle

import cloudpickle
import pytest

from proxystore.factory import Factory
from proxystore.factory import LambdaFactory
from proxystore.factory import SimpleFactory


def power(base: int, exp: int = 2) -> int:
    return base**exp


def test_simple_factory() -> None:
    factory = SimpleFactory([1, 2])
    assert factory() == [1, 2]
    assert factory.resolve() == [1, 2]
    restored = pickle.loads(pickle.dumps(factory))
    assert restored() == [1, 2]
    assert 'SimpleFactory' in repr(factory)


def test_lambda_factory_with_arguments() -> None:
    factory = LambdaFactory(power, 3, exp=3)
    assert factory() == 27
    assert factory.resolve() == 27
    assert pickle.loads(pickle.dumps(factory))() == 27
    assert 'power' in repr(factory)


def test_lambda_factory_with_lambda_needs_cloudpickle() -> None:
    factory = LambdaFactory(lambda: 'x')
    assert cloudpickle.loads(cloudpickle.dumps(factory))() == 'x'


def test_factory_base_cannot_be_built_or_resolved() -> None:
    with pytest.raises(NotImplementedError):
        Factory()

    class NoInit(Factory[int]):
        def resolve(self) -> int:
            return 7

    with pytest.raises(NotImplementedError):
        NoInit()

    class NoResolve(Factory[int]):
        def __init__(self) -> None:
            pass

    with pytest.raises(NotImplementedError):
        NoResolve()()


def test_custom_factory_subclass() -> None:
    class Constant(Factory[int]):
        def __init__(self) -> None:
            pass

        def resolve(self) -> int:
            return 7

    assert Constant()() == 7


def test_underscore_attribute_names_like_upstream() -> None:
    simple = SimpleFactory([1])
    assert simple._obj == [1]
    assert simple.obj == [1]
    simple.obj = [2]
    assert simple() == [2]
    lam = LambdaFactory(pow, 2, exp=3)
    assert (lam._target, lam._args, lam._kwargs) == (pow, (2,), {'exp': 3})
    assert (lam.target, lam.args, lam.kwargs) == (pow, (2,), {'exp': 3})


def test_unpickles_both_attribute_layouts() -> None:
    for state in ({'_obj': 'up'}, {'obj': 'up'}):
        factory = SimpleFactory.__new__(SimpleFactory)
        factory.__setstate__(dict(state))
        assert factory() == 'up'
    for state in (
        {'_target': pow, '_args': (2,), '_kwargs': {'exp': 5}},
        {'target': pow, 'args': (2,), 'kwargs': {'exp': 5}},
    ):
        lam = LambdaFactory.__new__(LambdaFactory)
        lam.__setstate__(dict(state))
        assert lam() == 32
    restored = pickle.loads(pickle.dumps(SimpleFactory({'k': 1})))
    assert restored() == {'k': 1}
