"""Small real connectors for Store tests that need a particular medium."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Sequence
from typing import Any
from typing import NamedTuple

from proxystore.connectors.local import LocalConnector


class DictKey(NamedTuple):
    """Key of `DictConnector`."""

    name: str


class DictConnector:
    """A minimal connector without deferred `new_key`/`set` support.

    It stores bytes in a dictionary; it can neither reserve a key nor
    overwrite an object.
    """

    def __init__(self) -> None:
        self.data: dict[DictKey, bytes] = {}
        self.closed = False
        self._names = itertools.count()

    def close(self) -> None:
        self.closed = True

    def config(self) -> dict[str, Any]:
        return {}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DictConnector:
        return cls()

    def evict(self, key: DictKey) -> None:
        self.data.pop(key, None)

    def exists(self, key: DictKey) -> bool:
        return key in self.data

    def get(self, key: DictKey) -> bytes | None:
        return self.data.get(key)

    def get_batch(self, keys: Sequence[DictKey]) -> list[bytes | None]:
        return [self.get(key) for key in keys]

    def put(self, obj: Any) -> DictKey:
        key = DictKey(str(next(self._names)))
        self.data[key] = bytes(obj)
        return key

    def put_batch(self, objs: Sequence[Any]) -> list[DictKey]:
        return [self.put(obj) for obj in objs]


class EvictFailsConnector(DictConnector):
    """A connector whose medium refuses deletions."""

    def evict(self, key: DictKey) -> None:
        raise OSError('read-only medium')


class GatedConnector(LocalConnector):
    """A `LocalConnector` whose puts wait at a gate: a slow medium."""

    def __init__(self) -> None:
        super().__init__()
        self.gated = False
        self.put_waiting = threading.Event()
        self.gate_open = threading.Event()

    def put(self, obj: Any) -> Any:
        if self.gated:
            self.put_waiting.set()
            self.gate_open.wait(60)
        return super().put(obj)
