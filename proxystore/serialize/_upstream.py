"""Reading objects serialized by upstream ProxyStore.

Upstream frames an object as a two-letter identifier, a newline and the
payload, with no length or checksum:

| identifier | payload |
| --- | --- |
| `BS` | the bytes as is |
| `US` | UTF-8 text |
| `NP` | `numpy.save(..., allow_pickle=True)` output |
| `PD` | `DataFrame.to_pickle(..., protocol=5)` output |
| `PL` | `DataFrame.write_ipc` output (Arrow IPC) |
| `PK` | `pickle.dump(..., protocol=5)` output |
| `CP` | `cloudpickle.dump` output |

Objects are only read in this format (data an upstream process wrote to a
shared directory, Redis or an endpoint); `serialize` writes ours. Upstream
frames start with an upper-case letter and ours with a lower-case one, so
the two never clash. A truncated upstream `BS` or `US` object cannot be
detected: the format carries nothing to check it against.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import Any

import cloudpickle  # type: ignore[import-untyped]

from proxystore.serialize._pickled import reader
from proxystore.serialize._polars import read_ipc

SEPARATOR = 0x0A
"""The newline after the two-letter identifier."""

HEADER_SIZE = 3


def _bytes(payload: memoryview) -> Any:
    return bytes(payload)


def _string(payload: memoryview) -> Any:
    return str(payload, 'utf-8')


def _numpy(payload: memoryview) -> Any:
    import numpy

    return numpy.load(reader(payload), allow_pickle=True)


def _pickle(payload: memoryview) -> Any:
    return pickle.load(reader(payload))


def _cloudpickle(payload: memoryview) -> Any:
    return cloudpickle.load(reader(payload))


DECODERS: dict[bytes, tuple[str, Callable[[memoryview], Any]]] = {
    b'BS': ('bytes', _bytes),
    b'US': ('string', _string),
    b'NP': ('numpy', _numpy),
    b'PD': ('pandas', _pickle),
    b'PL': ('polars', read_ipc),
    b'PK': ('pickle', _pickle),
    b'CP': ('cloudpickle', _cloudpickle),
}
"""Serializer name and payload decoder of each upstream identifier."""


def identify(data: memoryview) -> bytes | None:
    """The upstream identifier `data` starts with, if it is one."""
    if len(data) < HEADER_SIZE or data[2] != SEPARATOR:
        return None
    identifier = bytes(data[:2])
    return identifier if identifier in DECODERS else None
