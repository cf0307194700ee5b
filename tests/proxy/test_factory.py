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


def test_factory_is_abstract() -> None:
    with pytest.raises(TypeError):
        Factory()  # type: ignore[abstract]


def test_custom_factory_subclass() -> None:
    class Constant(Factory[int]):
        def resolve(self) -> int:
            return 7

    assert Constant()() == 7
