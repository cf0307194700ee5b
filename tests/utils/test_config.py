from __future__ import annotations

import io
import pathlib

import pydantic
import pytest

from proxystore.utils.config import dump
from proxystore.utils.config import dumps
from proxystore.utils.config import load
from proxystore.utils.config import loads


class Inner(pydantic.BaseModel):
    value: int
    note: str | None = None


class Model(pydantic.BaseModel):
    name: str
    count: int = 1
    maybe: str | None = None
    inner: Inner
    options: dict[str, object] = {}


def test_round_trip_through_file(tmp_path: pathlib.Path) -> None:
    model = Model(name='a', count=3, inner=Inner(value=2), options={'x': 1})
    path = tmp_path / 'config.toml'
    with open(path, 'wb') as f:
        dump(model, f)
    text = path.read_text()
    # None-valued fields are left out.
    assert 'maybe' not in text and 'note' not in text
    with open(path, 'rb') as f:
        assert load(Model, f) == model


def test_dumps_and_loads() -> None:
    model = Model(name='a', maybe='yes', inner=Inner(value=2, note='n'))
    text = dumps(model)
    assert 'maybe = "yes"' in text
    assert loads(Model, text) == model
    assert 'maybe' not in dumps(Model(name='a', inner=Inner(value=1)))


def test_exclude_none_false_fails_in_toml() -> None:
    model = Model(name='a', inner=Inner(value=1))
    with pytest.raises(TypeError):
        dumps(model, exclude_none=False)


def test_none_in_a_dict_field_raises_type_error() -> None:
    model = Model(name='a', inner=Inner(value=1), options={'x': None})
    buffer = io.BytesIO()
    with pytest.raises(TypeError):
        dump(model, buffer)


def test_loads_is_strict() -> None:
    with pytest.raises(pydantic.ValidationError):
        loads(Model, 'name = "a"\ncount = "3"\n[inner]\nvalue = 1\n')
    with pytest.raises(pydantic.ValidationError):
        loads(Model, 'name = "a"\n')
