"""Sizes of data in human-readable form, and chunks of bytes."""

from __future__ import annotations

import decimal
import re
from collections.abc import Generator

_DECIMAL_UNITS = ('B', 'KB', 'MB', 'GB', 'TB')

_UNITS = {
    'b': 1,
    'kb': 1000,
    'mb': 1000**2,
    'gb': 1000**3,
    'tb': 1000**4,
    'kib': 1024,
    'mib': 1024**2,
    'gib': 1024**3,
    'tib': 1024**4,
}

_SPLIT = re.compile(r'^\s*([^a-zA-Z\s]+)\s*([a-zA-Z]+)\s*$')


def chunk_bytes(
    data: bytes,
    chunk_size: int,
) -> Generator[bytes, None, None]:
    """Yield consecutive chunks of `data`.

    Example:
        ```python
        >>> list(chunk_bytes(b'abcde', 2))
        [b'ab', b'cd', b'e']
        ```

    Args:
        data: Bytes to split.
        chunk_size: Length of every chunk but the last (which may be
            shorter).

    Yields:
        The chunks, in order.
    """
    for start in range(0, len(data), chunk_size):
        yield data[start : start + chunk_size]


def bytes_to_readable(size: int, precision: int = 3) -> str:
    """Format a number of bytes with a decimal unit.

    Units go in steps of 1000 from `B` up to `TB` (the largest, so
    `10**15` is `'1000 TB'`). Trailing zeros are dropped.

    Example:
        ```python
        >>> bytes_to_readable(1001)
        '1.001 KB'
        >>> bytes_to_readable(1001, precision=0)
        '1 KB'
        ```

    Args:
        size: Number of bytes.
        precision: Digits kept after the decimal point.

    Returns:
        A string such as `'1.5 MB'`.

    Raises:
        ValueError: If `size` is negative.
    """
    if size < 0:
        raise ValueError(f'Size must not be negative. Got {size}.')
    value = float(size)
    unit = _DECIMAL_UNITS[0]
    for unit in _DECIMAL_UNITS:
        if value < 1000 or unit == _DECIMAL_UNITS[-1]:
            break
        value /= 1000
    text = f'{round(value, precision):.{max(precision, 0)}f}'
    if '.' in text:
        text = text.rstrip('0').rstrip('.')
    return f'{text} {unit}'


def readable_to_bytes(size: str) -> int:
    """Parse a human-readable size into a number of bytes.

    A plain number is a number of bytes. Otherwise the number is followed
    by a unit (a space between them is optional), case-insensitive:
    `B`, `KB`, `MB`, `GB`, `TB` (powers of 1000) or `KiB`, `MiB`, `GiB`,
    `TiB` (powers of 1024). Fractions of a byte are truncated.

    Example:
        ```python
        >>> readable_to_bytes('1.5 KB')
        1500
        >>> readable_to_bytes('2KiB')
        2048
        ```

    Args:
        size: Size such as `'100'`, `'1.5 MB'` or `'4GiB'`.

    Returns:
        The number of bytes.

    Raises:
        ValueError: If the string is not a number and a unit, the unit is
            unknown, or the number cannot be parsed.
    """
    try:
        return int(float(size))
    except ValueError:
        pass
    match = _SPLIT.match(size)
    parts = match.groups() if match is not None else tuple(size.split())
    if len(parts) != 2:
        raise ValueError(
            f'Input string "{size}" must contain only a value and a unit.',
        )
    value, unit = parts
    try:
        multiplier = _UNITS[unit.lower()]
    except KeyError:
        raise ValueError(f'Unknown unit type {unit}.') from None
    try:
        number = decimal.Decimal(value)
    except decimal.InvalidOperation:
        raise ValueError(
            f'Cannot convert value "{value}" to a float.',
        ) from None
    if not number.is_finite():
        raise ValueError(f'Cannot convert value "{value}" to a float.')
    return int(number * multiplier)
