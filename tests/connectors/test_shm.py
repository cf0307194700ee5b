"""SharedMemoryConnector specifics.

Key safety, namespaces and clearing, objects outliving their writer
process, zero-copy reads that stay valid after eviction, and proxies
resolved across spawned processes. Atomic writes, symlinks and failing
writers are tested with the FileConnector's in `test_directory.py`.
"""

from __future__ import annotations

import multiprocessing
import os
import pathlib
import stat
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pytest

from proxystore.connectors.shm import SharedMemoryConnector
from proxystore.connectors.shm import SharedMemoryKey
from proxystore.serialize import deserialize
from proxystore.serialize import serialize
from proxystore.serialize import serialize_to_buffers
from proxystore.store import Store
from proxystore.store import get_store
from proxystore.store import unregister_store
from tests.helpers.connectors import key_operations
from tests.helpers.docs import doc_blocks
from tests.helpers.scripts import run_example

HEX = '0123456789abcdef' * 2


@pytest.fixture
def connector(shm_test_dir: str) -> Iterator[SharedMemoryConnector]:
    with SharedMemoryConnector('ours', shm_dir=shm_test_dir) as connector:
        yield connector


@pytest.fixture
def spawn_pool() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context('spawn'),
    ) as pool:
        yield pool


def _listing(directory: str) -> list[str]:
    return sorted(os.listdir(directory))


def _as_bytes(data: Any) -> bytes | None:
    return None if data is None else bytes(data)


# Functions run in spawned processes (must be importable) -------------------


def _put_and_exit(config: dict[str, Any], data: bytes) -> SharedMemoryKey:
    return SharedMemoryConnector.from_config(config).put(data)


def _get_in_child(config: dict[str, Any], key: SharedMemoryKey) -> Any:
    return _as_bytes(SharedMemoryConnector.from_config(config).get(key))


def _sum_proxy(proxy: Any) -> float:
    return float(np.sum(proxy))


def _proxy_from_child(config: dict[str, Any]) -> Any:
    store = Store('shm-child', SharedMemoryConnector.from_config(config))
    return store.proxy(np.full(300_000, 2.0), populate_target=False)


# Keys ----------------------------------------------------------------------

BAD_NAMES = [
    '',
    '../outside',
    '/etc/passwd',
    f'proxystore-ours-{HEX}/../x',
    f'proxystore-ours-{HEX[:-1]}',
    f'proxystore-ours-{HEX.upper()}',
    f'proxystore-ours-{HEX}x',
    f'.proxystore-ours-{HEX}.tmp',
    f'proxystore-ours-{HEX}\x00',
    'proxystore-ours',
    f'other-ours-{HEX}',
]


@pytest.mark.parametrize('name', BAD_NAMES)
def test_malformed_key_rejected_and_nothing_touched(
    connector: SharedMemoryConnector,
    name: str,
) -> None:
    kept = connector.put(b'kept')
    before = _listing(connector.shm_dir)
    for operation in key_operations(connector, SharedMemoryKey(name)):
        with pytest.raises(ValueError, match='Invalid SharedMemoryKey name'):
            operation()
    assert _listing(connector.shm_dir) == before
    assert connector.get(kept) == b'kept'


@pytest.mark.parametrize(
    'key',
    [SharedMemoryKey(42), ('x',), 'name', None],  # type: ignore[arg-type]
)
def test_non_key_rejected(connector: SharedMemoryConnector, key: Any) -> None:
    with pytest.raises(ValueError, match='Invalid SharedMemoryKey name'):
        connector.get(key)


def test_foreign_namespace_key_rejected(
    connector: SharedMemoryConnector,
) -> None:
    other = SharedMemoryConnector('theirs', shm_dir=connector.shm_dir)
    foreign = other.put(b'not yours')
    ours = connector.put(b'ours')
    for operation in key_operations(connector, foreign):
        with pytest.raises(ValueError, match="namespace 'theirs'"):
            operation()
    assert other.get(foreign) == b'not yours'
    assert connector.get(ours) == b'ours'
    with pytest.raises(ValueError, match="namespace 'ours'"):
        other.get(ours)
    other.close()


@pytest.mark.parametrize(
    'namespace',
    ['', 'a-b', 'a.b', '../x', 'a/b', 'x' * 65, 'caf\u00e9', 5],
)
def test_invalid_namespace_rejected(
    shm_test_dir: str,
    namespace: Any,
) -> None:
    with pytest.raises(ValueError, match='Invalid shared-memory namespace'):
        SharedMemoryConnector(namespace, shm_dir=shm_test_dir)
    assert _listing(shm_test_dir) == []


def test_key_names_segment_in_namespace(
    connector: SharedMemoryConnector,
) -> None:
    key = connector.put(b'x')
    assert key.name.startswith('proxystore-ours-')
    assert _listing(connector.shm_dir) == [key.name]
    assert repr(key) == f'SharedMemoryKey(name={key.name!r})'
    st = os.stat(os.path.join(connector.shm_dir, key.name))
    assert stat.S_IMODE(st.st_mode) == 0o600


def test_default_namespace_is_fresh_and_in_dev_shm() -> None:
    first, second = SharedMemoryConnector(), SharedMemoryConnector()
    assert first.namespace != second.namespace
    if os.path.isdir('/dev/shm'):
        assert first.shm_dir == '/dev/shm'
        key = first.put(b'x')
        assert os.path.exists(os.path.join('/dev/shm', key.name))
        with pytest.raises(ValueError, match='belongs to namespace'):
            second.exists(key)
    first.close()
    second.close()


def test_repr_and_config(connector: SharedMemoryConnector) -> None:
    assert 'ours' in repr(connector)
    assert connector.config() == {
        'namespace': 'ours',
        'clear': True,
        'shm_dir': connector.shm_dir,
    }
    assert SharedMemoryConnector.from_config(connector.config()).config() == (
        connector.config()
    )


# Namespaces and clearing ---------------------------------------------------


def test_clear_removes_only_own_segments(shm_test_dir: str) -> None:
    a = SharedMemoryConnector('a', shm_dir=shm_test_dir)
    a_b = SharedMemoryConnector('a_b', shm_dir=shm_test_dir)
    theirs = a_b.put(b'theirs')
    foreign = ['unrelated', f'proxystore-ab-{HEX}', f'proxystore-a-{HEX}.x']
    for name in foreign:
        with open(os.path.join(shm_test_dir, name), 'wb') as f:
            f.write(b'foreign')
    ours = [a.put(b'1'), a.put(b'2' * (2 << 20))]
    # A leftover of a killed writer of namespace `a`.
    leftover = f'.proxystore-a-{HEX}.tmp'
    with open(os.path.join(shm_test_dir, leftover), 'wb') as f:
        f.write(b'partial')
    a.close()
    assert _listing(shm_test_dir) == sorted([*foreign, theirs.name])
    assert not any(a.exists(key) for key in ours)
    assert a_b.get(theirs) == b'theirs'
    a_b.close(clear=False)
    assert a_b.get(theirs) == b'theirs'
    a_b.close()
    assert _listing(shm_test_dir) == sorted(foreign)


def test_close_with_missing_dir_is_harmless(tmp_path: Any) -> None:
    connector = SharedMemoryConnector(shm_dir=str(tmp_path / 'gone'))
    os.rmdir(tmp_path / 'gone')
    connector.close()


# Reads: copies and validity -----------------------------------------------


def test_large_get_is_private_copy_on_write_view(
    connector: SharedMemoryConnector,
) -> None:
    data = bytes(range(256)) * 8192  # 2 MiB
    key = connector.put(data)
    first = connector.get(key)
    assert isinstance(first, memoryview)
    assert not first.readonly
    first[:4] = b'XXXX'
    assert connector.get(key) == data
    assert bytes(first[:4]) == b'XXXX'


def test_small_get_is_bytearray(connector: SharedMemoryConnector) -> None:
    key = connector.put(b'small')
    result = connector.get(key)
    assert isinstance(result, bytearray)
    assert result == b'small'


def test_array_aliases_segment_and_outlives_evict_and_clear(
    shm_test_dir: str,
) -> None:
    array = np.arange(1 << 18, dtype=np.float64)  # 2 MiB
    connector = SharedMemoryConnector('v', shm_dir=shm_test_dir)
    key = connector.put(serialize_to_buffers(array))
    result = deserialize(connector.get(key))
    assert result.flags.writeable
    # Zero copies: the array is a view of the mapping, not its own memory.
    assert not result.flags.owndata
    connector.evict(key)
    connector.close()
    assert _listing(shm_test_dir) == []
    np.testing.assert_array_equal(result, array)
    result[:] = -1  # writes stay private to this process
    np.testing.assert_array_equal(result, np.full_like(array, -1))


@pytest.mark.skipif(
    not os.path.isdir('/proc/self/fd'),
    reason='needs /proc',
)
def test_results_hold_no_descriptor_and_unmap_when_dropped(
    connector: SharedMemoryConnector,
) -> None:
    key = connector.put(bytes(2 << 20))

    def mapped() -> int:
        with open('/proc/self/maps') as f:
            return f.read().count(key.name)

    descriptors = len(os.listdir('/proc/self/fd'))
    results = [connector.get(key) for _ in range(50)]
    assert len(os.listdir('/proc/self/fd')) == descriptors
    assert mapped() == 50
    connector.evict(key)
    assert all(r is not None and r[-1] == 0 for r in results)
    del results
    assert mapped() == 0


def test_writes_to_a_result_do_not_reach_other_readers(
    connector: SharedMemoryConnector,
) -> None:
    array = np.arange(300_000, dtype=np.float64)
    key = connector.put(serialize(array))
    mine = deserialize(connector.get(key))
    mine[:] = -1
    np.testing.assert_array_equal(deserialize(connector.get(key)), array)


def test_buffer_list_is_written_without_joining(
    connector: SharedMemoryConnector,
) -> None:
    array = np.arange(1 << 18, dtype=np.float64)
    parts = serialize_to_buffers(array)
    key = connector.put(parts)
    assert connector.get(key) == b''.join(bytes(p) for p in parts)


# Across processes ---------------------------------------------------------


def test_objects_outlive_the_writer_process(
    connector: SharedMemoryConnector,
) -> None:
    context = multiprocessing.get_context('spawn')
    # A fresh pool per writer: its worker exits when the pool shuts down.
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        small = pool.submit(_put_and_exit, connector.config(), b'x').result()
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        large = pool.submit(
            _put_and_exit,
            connector.config(),
            b'y' * (3 << 20),
        ).result()
    time.sleep(0.2)  # let any resource tracker of the writers finish
    assert connector.get(small) == b'x'
    assert connector.get(large) == b'y' * (3 << 20)
    with ProcessPoolExecutor(1, mp_context=context) as pool:
        assert pool.submit(
            _get_in_child,
            connector.config(),
            large,
        ).result() == (b'y' * (3 << 20))


def test_store_proxy_round_trip_in_spawned_process(
    connector: SharedMemoryConnector,
    spawn_pool: ProcessPoolExecutor,
) -> None:
    store = Store('shm-proxy-test', connector)
    array = np.arange(1 << 18, dtype=np.float64)
    proxy = store.proxy(array, populate_target=False)
    assert spawn_pool.submit(_sum_proxy, proxy).result() == float(array.sum())
    # A proxy made in the child resolves here after the child is done.
    child_proxy = spawn_pool.submit(_proxy_from_child, connector.config())
    try:
        assert float(np.sum(child_proxy.result())) == 600_000.0
    finally:
        child_store = get_store('shm-child')
        if child_store is not None:
            unregister_store(child_store)


# Documentation -------------------------------------------------------------


DOC_EXAMPLES = doc_blocks('shared-memory.md')


@pytest.mark.parametrize(
    'source',
    DOC_EXAMPLES,
    ids=[f'block{i}' for i in range(len(DOC_EXAMPLES))],
)
def test_documentation_examples_run(
    source: str,
    tmp_path: pathlib.Path,
) -> None:
    run_example(source, tmp_path)


def test_documentation_has_examples() -> None:
    assert len(DOC_EXAMPLES) >= 3


# Issue 12: long keys, killed writers' segments, logging ---------------------


def test_very_long_key_is_value_error(
    connector: SharedMemoryConnector,
) -> None:
    kept = connector.put(b'kept')
    before = _listing(connector.shm_dir)
    assert kept.name in before
    long_key = SharedMemoryKey(f'proxystore-ours-{HEX * 20}')
    for operation in key_operations(connector, long_key):
        with pytest.raises(ValueError, match='Invalid SharedMemoryKey name'):
            operation()
    assert _listing(connector.shm_dir) == before


def test_dead_writers_segments_swept_on_open_and_clear(
    shm_test_dir: str,
) -> None:
    from proxystore.connectors._orphans import writer_tag

    live = f'.proxystore-other-{writer_tag()}-{HEX}.tmp'
    dead_tag = writer_tag().rsplit('-', 1)[0] + '-1'  # recycled PID
    dead_other = f'.proxystore-other-{dead_tag}-{HEX}.tmp'
    for name in (live, dead_other):
        with open(os.path.join(shm_test_dir, name), 'wb') as f:
            f.write(b'partial')
    # Opening any namespace sweeps killed writers' segments of all of them.
    connector = SharedMemoryConnector('mine', shm_dir=shm_test_dir)
    assert _listing(shm_test_dir) == [live]
    dead_later = f'.proxystore-other-{dead_tag}-{HEX[::-1]}.tmp'
    with open(os.path.join(shm_test_dir, dead_later), 'wb') as f:
        f.write(b'partial')
    kept = connector.put(b'kept')
    connector.close(clear=False)
    assert _listing(shm_test_dir) == sorted([live, dead_later, kept.name])
    connector.close()
    assert _listing(shm_test_dir) == [live]


def test_lifecycle_logged(
    shm_test_dir: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger='proxystore.connectors.shm')
    with SharedMemoryConnector('logged', shm_dir=shm_test_dir) as c:
        c.get(c.put(b'x'))
    levels = [
        (r.levelno, r.getMessage().split(' ')[0])
        for r in caplog.records
        if r.name == 'proxystore.connectors.shm'
    ]
    assert levels == [
        (logging.INFO, 'Opened'),
        (logging.DEBUG, 'Set'),
        (logging.DEBUG, 'Got'),
        (logging.INFO, 'Closed'),
    ]
