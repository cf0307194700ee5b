"""The test suite every ProxyStore connector passes.

Subclass [`ConnectorSuite`][proxystore.testing.connectors.ConnectorSuite]
in a test module (its name must start with `Test` for pytest to collect
it) and give it a `connector` fixture that yields an open connector:

```python
import pytest

from proxystore.testing.connectors import ConnectorSuite

from mypkg import MyConnector


class TestMyConnector(ConnectorSuite):
    @pytest.fixture
    def connector(self, tmp_path):
        with MyConnector(str(tmp_path)) as connector:
            yield connector
```

Only the public protocol
([`proxystore.connectors.protocols`][proxystore.connectors.protocols]) is
used. What a connector cannot do is declared on the connector class (or
instance) with these capability flags, and the suite skips or adapts the
tests concerned:

* `accepts_buffer_lists` (default `False`): `put` and `set` also take a
  list of buffers (see
  [`accepts_buffer_lists`][proxystore.connectors.protocols.accepts_buffer_lists]).
* `config_reaches_data` (default `True`): a connector rebuilt with
  `from_config(config())`, in this or a spawned process, reaches the
  objects stored through the original, and the other way round.

A connector is deferrable (the `new_key`/`set` tests run) when it is an
instance of
[`DeferrableConnector`][proxystore.connectors.protocols.DeferrableConnector].

The tests run objects through spawned processes with `multiprocessing`,
so the connector's module must be importable there.
"""

from __future__ import annotations

import multiprocessing
import pickle
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from proxystore.connectors.protocols import Connector
from proxystore.connectors.protocols import DeferrableConnector
from proxystore.connectors.protocols import accepts_buffer_lists

__all__ = ['ConnectorSuite', 'config_reaches_data']


def config_reaches_data(connector: object) -> bool:
    """Read the `config_reaches_data` capability flag (default `True`)."""
    return getattr(connector, 'config_reaches_data', True) is not False


LARGE = 3 * (1 << 20) + 7
"""Size of the large objects (crosses the 1 MiB large-buffer threshold)."""


def _payload(size: int, seed: int = 0) -> bytes:
    return bytes((i * 31 + seed) % 251 for i in range(min(size, 4096))) * (
        size // 4096 + 1
    )


def _missing_key(connector: Any) -> Any:
    key = connector.put(b'soon gone')
    connector.evict(key)
    return key


def _as_bytes(data: Any) -> bytes | None:
    return None if data is None else bytes(data)


# Functions run in spawned worker processes (must be importable).
def _get_in_child(kind: type[Any], config: dict[str, Any], key: Any) -> Any:
    # Not closed: closing a copy may clear data the parent still owns.
    connector = kind.from_config(config)
    return _as_bytes(connector.get(key))


def _put_in_child(kind: type[Any], config: dict[str, Any], data: bytes) -> Any:
    return kind.from_config(config).put(data)


def _spawn_pool() -> ProcessPoolExecutor:
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context('spawn'),
    )


class ConnectorSuite:
    """Tests every connector passes; subclass it with a `connector` fixture.

    The `connector` fixture yields an open connector and closes it
    afterwards. It may be parametrized to run the suite over several
    connectors.
    """

    @pytest.fixture
    def connector(self) -> Any:
        """Override: an open connector under test."""
        raise NotImplementedError(
            'Subclasses of ConnectorSuite must define a connector fixture.',
        )

    def test_is_connector(self, connector: Any) -> None:
        """The connector satisfies the `Connector` protocol."""
        assert isinstance(connector, Connector)

    def test_put_get_exists_evict(self, connector: Any) -> None:
        """An object can be stored, read, checked and evicted."""
        key = connector.put(b'value')
        assert connector.exists(key)
        assert _as_bytes(connector.get(key)) == b'value'
        connector.evict(key)
        assert not connector.exists(key)
        assert connector.get(key) is None

    def test_missing_key(self, connector: Any) -> None:
        """A missing key reads as `None`; evicting it is a no-op."""
        other = connector.put(b'other')
        key = _missing_key(connector)
        assert connector.get(key) is None
        assert not connector.exists(key)
        connector.evict(key)  # no-op
        assert _as_bytes(connector.get(other)) == b'other'

    def test_keys_are_unique(self, connector: Any) -> None:
        """Every `put` returns a new key."""
        keys = [connector.put(b'same') for _ in range(5)]
        assert len(set(keys)) == len(keys)

    @pytest.mark.parametrize(
        'make',
        [bytes, bytearray, memoryview, lambda b: memoryview(b).toreadonly()],
        ids=['bytes', 'bytearray', 'memoryview', 'readonly-memoryview'],
    )
    def test_bytes_like_input(self, connector: Any, make: Any) -> None:
        """Any bytes-like input is stored as its bytes."""
        data = b'0123456789'
        key = connector.put(make(data))
        assert _as_bytes(connector.get(key)) == data

    def test_memoryview_slice_input(self, connector: Any) -> None:
        """A slice of a memoryview stores only the slice."""
        key = connector.put(memoryview(b'xxhelloxx')[2:-2])
        assert _as_bytes(connector.get(key)) == b'hello'

    def test_buffer_list_input(self, connector: Any) -> None:
        """A list of buffers is stored as their concatenation."""
        if not accepts_buffer_lists(connector):
            pytest.skip('connector takes single buffers only')
        big = _payload(LARGE)
        parts = [b'head', memoryview(b'--body--')[2:-2], bytearray(b''), big]
        key = connector.put(parts)
        assert _as_bytes(connector.get(key)) == b'headbody' + big
        if isinstance(connector, DeferrableConnector):
            key = connector.new_key()
            connector.set(key, (b'a', b'b'))  # type: ignore[arg-type]
            assert _as_bytes(connector.get(key)) == b'ab'

    def test_writable_input_changed_after_put(self, connector: Any) -> None:
        """Changing the input after `put` does not change the object."""
        data = bytearray(b'original')
        key = connector.put(data)
        data[:] = b'MUTATED!'
        assert _as_bytes(connector.get(key)) == b'original'

    def test_empty_object(self, connector: Any) -> None:
        """An empty object exists and reads back empty."""
        key = connector.put(b'')
        assert connector.exists(key)
        assert _as_bytes(connector.get(key)) == b''

    def test_large_object(self, connector: Any) -> None:
        """A multi-megabyte object reads back intact."""
        data = _payload(LARGE)
        key = connector.put(data)
        assert _as_bytes(connector.get(key)) == data

    def test_get_result_owned_by_caller(self, connector: Any) -> None:
        """Writing into a `get` result does not change the object."""
        key = connector.put(b'abc')
        first = connector.get(key)
        if not memoryview(first).readonly:
            memoryview(first)[:] = b'xyz'
        assert _as_bytes(connector.get(key)) == b'abc'

    def test_batch_order_and_missing(self, connector: Any) -> None:
        """Batches keep the order of their keys; missing ones are `None`."""
        datas = [b'zero', bytearray(b'one'), memoryview(b'two'), b'three']
        keys = connector.put_batch(datas)
        assert len(keys) == len(datas)
        connector.evict(keys[2])
        results = [_as_bytes(r) for r in connector.get_batch(keys)]
        assert results == [b'zero', b'one', None, b'three']
        assert [_as_bytes(r) for r in connector.get_batch(keys[::-1])] == [
            b'three',
            None,
            b'one',
            b'zero',
        ]

    def test_empty_batches(self, connector: Any) -> None:
        """Empty batches are allowed."""
        assert list(connector.put_batch([])) == []
        assert list(connector.get_batch([])) == []

    def test_key_properties(self, connector: Any) -> None:
        """Keys are hashable, picklable tuples with a readable repr."""
        key = connector.put(b'k')
        assert isinstance(key, tuple)  # NamedTuple
        assert hash(key) == hash(pickle.loads(pickle.dumps(key)))
        assert pickle.loads(pickle.dumps(key)) == key
        text = repr(key)
        assert text.startswith(type(key).__name__ + '(')
        assert ' at 0x' not in text

    def test_deferrable_new_key_then_set(self, connector: Any) -> None:
        """A deferrable connector sets an object under a new key."""
        if not isinstance(connector, DeferrableConnector):
            pytest.skip('connector is not a DeferrableConnector')
        key = connector.new_key()
        assert not connector.exists(key)
        assert connector.get(key) is None
        connector.set(key, bytearray(b'later'))
        assert connector.exists(key)
        assert _as_bytes(connector.get(key)) == b'later'

    def test_deferrable_new_key_with_object(self, connector: Any) -> None:
        """`new_key(obj)` accepts the object it will be set to."""
        if not isinstance(connector, DeferrableConnector):
            pytest.skip('connector is not a DeferrableConnector')
        data = b'hint'
        key = connector.new_key(data)
        connector.set(key, data)
        assert _as_bytes(connector.get(key)) == data
        assert connector.new_key() != key

    def test_config_round_trip(self, connector: Any) -> None:
        """`from_config(config())` reaches the same data."""
        config = connector.config()
        assert isinstance(config, dict)
        config = pickle.loads(pickle.dumps(config))
        if not config_reaches_data(connector):
            assert type(connector).from_config(config).config() == config
            return
        key = connector.put(b'shared')
        copy = type(connector).from_config(config)
        assert isinstance(copy, type(connector))
        # Not closed: it shares the data with the fixture's connector.
        assert _as_bytes(copy.get(key)) == b'shared'
        other = copy.put(b'from copy')
        assert _as_bytes(connector.get(other)) == b'from copy'

    def test_config_reaches_data_in_spawned_process(
        self, connector: Any
    ) -> None:
        """A spawned process rebuilt from `config()` reads and writes."""
        if not config_reaches_data(connector):
            pytest.skip('connector config does not carry a route to its data')
        key = connector.put(b'to child')
        missing = _missing_key(connector)
        kind, config = type(connector), connector.config()
        with _spawn_pool() as pool:
            assert pool.submit(_get_in_child, kind, config, key).result() == (
                b'to child'
            )
            assert pool.submit(
                _get_in_child, kind, config, missing
            ).result() is (None)
            child_key = pool.submit(
                _put_in_child, kind, config, b'up'
            ).result()
        assert _as_bytes(connector.get(child_key)) == b'up'

    def test_context_manager(self, connector: Any) -> None:
        """Leaving a `with` block closes the connector."""
        closed = []
        close = connector.close

        def spy(*args: Any, **kwargs: Any) -> None:
            closed.append(True)

        connector.close = spy
        try:
            with connector as entered:
                assert entered is connector
            assert closed == [True]
        finally:
            connector.close = close
