"""Read and write pydantic models as TOML."""

from __future__ import annotations

import sys
from typing import BinaryIO
from typing import TypeVar

import tomli_w
from pydantic import BaseModel

if sys.version_info >= (3, 11):  # pragma: >=3.11 cover
    import tomllib
else:  # pragma: <3.11 cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

BaseModelT = TypeVar('BaseModelT', bound=BaseModel)


def dump(
    model: BaseModel,
    fp: BinaryIO,
    *,
    exclude_none: bool = True,
) -> None:
    """Write a model as TOML to a binary file.

    Args:
        model: Model to write.
        fp: File opened for writing in binary mode.
        exclude_none: Leave out fields whose value is `None` (TOML has no
            null value; a `None` elsewhere, e.g., inside a dict field,
            raises `TypeError`).
    """
    fp.write(dumps(model, exclude_none=exclude_none).encode())


def dumps(model: BaseModel, *, exclude_none: bool = True) -> str:
    """Return a model as a TOML string (see `dump`)."""
    return tomli_w.dumps(model.model_dump(exclude_none=exclude_none))


def load(model: type[BaseModelT], fp: BinaryIO) -> BaseModelT:
    """Read a model from a binary TOML file (see `loads`)."""
    return loads(model, fp.read().decode())


def loads(model: type[BaseModelT], data: str) -> BaseModelT:
    """Parse a TOML string into a model.

    Args:
        model: Model type.
        data: TOML text.

    Returns:
        The model, validated in pydantic's strict mode.

    Raises:
        tomllib.TOMLDecodeError: If `data` is not valid TOML.
        pydantic.ValidationError: If the data does not fit the model.
    """
    return model.model_validate(tomllib.loads(data), strict=True)
