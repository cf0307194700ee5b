from __future__ import annotations

import types

import pytest

from proxystore.utils.data import bytes_to_readable
from proxystore.utils.data import chunk_bytes
from proxystore.utils.data import readable_to_bytes


def test_chunk_bytes() -> None:
    chunks = chunk_bytes(b'abcdefg', 3)
    assert isinstance(chunks, types.GeneratorType)
    assert list(chunks) == [b'abc', b'def', b'g']
    assert list(chunk_bytes(b'abcdef', 3)) == [b'abc', b'def']
    assert list(chunk_bytes(b'', 3)) == []


@pytest.mark.parametrize(
    ('size', 'precision', 'expected'),
    [
        (0, 3, '0 B'),
        (999, 3, '999 B'),
        (1000, 3, '1 KB'),
        (1001, 3, '1.001 KB'),
        (1001, 0, '1 KB'),
        (1500, 3, '1.5 KB'),
        (12_345_678, 3, '12.346 MB'),
        (int(2e9), 3, '2 GB'),
        (int(3e12), 3, '3 TB'),
        (int(1e15), 3, '1000 TB'),
    ],
)
def test_bytes_to_readable(size: int, precision: int, expected: str) -> None:
    assert bytes_to_readable(size, precision) == expected


def test_bytes_to_readable_negative() -> None:
    with pytest.raises(ValueError, match='negative'):
        bytes_to_readable(-1)


@pytest.mark.parametrize(
    ('text', 'expected'),
    [
        ('100', 100),
        ('1.9', 1),
        ('1 B', 1),
        ('1KB', 1000),
        ('1 kb', 1000),
        ('1.5 MB', 1_500_000),
        ('2 GB', 2 * 1000**3),
        ('1 TB', 1000**4),
        ('1 KiB', 1024),
        ('2MiB', 2 * 1024**2),
        ('1 gib', 1024**3),
        ('1 TiB', 1024**4),
        ('1.0001 KB', 1000),
    ],
)
def test_readable_to_bytes(text: str, expected: int) -> None:
    assert readable_to_bytes(text) == expected


def test_round_trip() -> None:
    for size in (0, 5, 1234, 5_000_000, 7 * 1000**4):
        assert readable_to_bytes(bytes_to_readable(size)) == size


@pytest.mark.parametrize(
    ('text', 'match'),
    [
        ('1 2 KB', 'value and a unit'),
        ('KB', 'value and a unit'),
        ('', 'value and a unit'),
        ('1 XB', 'Unknown unit type XB.'),
        ('a KB', 'float'),
        ('1.2.3 KB', 'float'),
    ],
)
def test_readable_to_bytes_errors(text: str, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        readable_to_bytes(text)
