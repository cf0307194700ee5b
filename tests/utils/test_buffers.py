from __future__ import annotations

import array

import pytest

from proxystore.utils.buffers import is_bytes_like


@pytest.mark.parametrize(
    'obj',
    [b'x', bytearray(b'x'), memoryview(b'x')],
)
def test_bytes_like(obj: object) -> None:
    assert is_bytes_like(obj)


@pytest.mark.parametrize('obj', ['text', 1, None, [b'x']])
def test_not_bytes_like(obj: object) -> None:
    assert not is_bytes_like(obj)


def test_other_buffers_depend_on_the_python_version() -> None:
    import sys

    # On 3.12+ any sized buffer counts; below only the three builtins.
    assert is_bytes_like(array.array('b', [1])) is (
        sys.version_info >= (3, 12)
    )
