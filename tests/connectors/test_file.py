"""FileConnector specifics: key safety, clearing, buffering.

Atomic writes, symlinks and failing writers are tested with the
SharedMemoryConnector's in `test_directory.py`.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pathlib
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest
from typing_extensions import Buffer

from proxystore.connectors.file import FileConnector
from proxystore.connectors.file import FileKey
from proxystore.serialize import deserialize
from proxystore.serialize import serialize
from tests.helpers.connectors import key_operations

BAD_FILENAMES = [
    '../outside',
    'a/../../outside',
    'sub/name',
    '..',
    '.',
    '',
    'a\x00b',
    'a\\b',
    '.tmp-123',
    '.hidden',
    # Issue 12: names the file system refuses raised OSError.
    'a' * 256,
    'é' * 128,
    'a\ud800b',
]


def as_bytes(data: Buffer | None) -> bytes | None:
    """What `get` returned, as `bytes` for comparisons (`None` kept)."""
    return None if data is None else bytes(data)


def stored(connector: FileConnector, key: FileKey) -> bytearray | memoryview:
    """The object under `key`, which must exist."""
    data = connector.get(key)
    assert data is not None
    return data


@pytest.fixture
def layout(
    tmp_path: pathlib.Path,
) -> Iterator[tuple[FileConnector, pathlib.Path]]:
    outside = tmp_path / 'outside'
    outside.write_bytes(b'not yours')
    connector = FileConnector(str(tmp_path / 'store'))
    yield connector, outside
    connector.close()


@pytest.mark.parametrize('filename', BAD_FILENAMES)
def test_escaping_filename_rejected(
    layout: tuple[FileConnector, pathlib.Path],
    filename: str,
) -> None:
    connector, outside = layout
    kept = connector.put(b'kept')
    before = sorted(os.listdir(connector.store_dir))
    for operation in key_operations(connector, FileKey(filename)):
        with pytest.raises(ValueError, match='Invalid FileKey filename'):
            operation()
    assert outside.read_bytes() == b'not yours'
    assert sorted(os.listdir(connector.store_dir)) == before
    assert as_bytes(connector.get(kept)) == b'kept'


def test_absolute_path_rejected(
    layout: tuple[FileConnector, pathlib.Path],
) -> None:
    connector, outside = layout
    for operation in key_operations(connector, FileKey(str(outside))):
        with pytest.raises(ValueError):
            operation()
    assert outside.read_bytes() == b'not yours'


def test_non_string_filename_rejected(
    layout: tuple[FileConnector, pathlib.Path],
) -> None:
    connector, _ = layout
    with pytest.raises(ValueError):
        connector.get(FileKey(42))  # type: ignore[arg-type]


def test_keys_are_plain_names(tmp_path: pathlib.Path) -> None:
    with FileConnector(str(tmp_path / 's')) as connector:
        key = connector.put(b'x')
        assert os.path.basename(key.filename) == key.filename
        assert not key.filename.startswith('.')
        assert os.listdir(connector.store_dir) == [key.filename]


def test_store_dir_absolute_and_created(
    tmp_path: pathlib.Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    with FileConnector('relative/store') as connector:
        assert connector.config()['store_dir'] == str(
            tmp_path / 'relative' / 'store',
        )
        assert (tmp_path / 'relative' / 'store').is_dir()


def test_context_manager_clears(tmp_path: pathlib.Path) -> None:
    with FileConnector(str(tmp_path / 's')) as connector:
        connector.put(b'x')
    assert not os.path.exists(connector.store_dir)
    connector.close()  # closing twice is harmless


def test_config_round_trip(tmp_path: pathlib.Path) -> None:
    with FileConnector(str(tmp_path / 's'), clear=False, buffering=0) as c:
        assert c.config() == {
            'store_dir': str(tmp_path / 's'),
            'clear': False,
            'buffering': 0,
        }
        copy = FileConnector.from_config(c.config())
        assert copy.config() == c.config()


def test_deserialize_from_get_does_not_touch_file(
    tmp_path: pathlib.Path,
) -> None:
    np = pytest.importorskip('numpy')
    with FileConnector(str(tmp_path / 's')) as connector:
        array = np.arange(300_000, dtype=np.float64)
        key = connector.put(serialize(array))
        result = deserialize(stored(connector, key))
        result[:] = -1
        again = deserialize(stored(connector, key))
        np.testing.assert_array_equal(again, array)


def _read(config: dict[str, Any], key: FileKey) -> bytes | None:
    data = FileConnector.from_config(config).get(key)
    return None if data is None else bytes(data)


def test_written_here_read_in_spawned_process(tmp_path: pathlib.Path) -> None:
    with FileConnector(str(tmp_path / 's')) as connector:
        key = connector.put(b'across')
        with ProcessPoolExecutor(
            1,
            mp_context=multiprocessing.get_context('spawn'),
        ) as pool:
            assert pool.submit(_read, connector.config(), key).result() == (
                b'across'
            )


@pytest.mark.parametrize('buffering', [0, -1, 8192])
def test_buffering(tmp_path: pathlib.Path, buffering: int) -> None:
    data = bytes(range(256)) * 5000
    with FileConnector(str(tmp_path / 's'), buffering=buffering) as c:
        assert as_bytes(c.get(c.put(data))) == data


# Keys the file system would refuse ------------------------------------------


def test_longest_allowed_filename_works(tmp_path: pathlib.Path) -> None:
    with FileConnector(str(tmp_path / 's')) as connector:
        key = FileKey('k' * 255)
        connector.set(key, b'long')
        assert as_bytes(connector.get(key)) == b'long'
        assert connector.exists(key)
        connector.evict(key)
        assert not connector.exists(key)


def test_path_too_long_for_the_system_is_value_error(
    tmp_path: pathlib.Path,
) -> None:
    deep = tmp_path
    while len(os.fsencode(str(deep))) < 3900:
        deep = deep / ('d' * 200)
    with FileConnector(str(deep)) as connector:
        for operation in key_operations(connector, FileKey('n' * 250)):
            with pytest.raises(ValueError, match='whole paths'):
                operation()


# Objects written the upstream way (data file plus `.ready` marker) ---------


def _upstream_write(directory: str, name: str, data: bytes) -> None:
    (pathlib.Path(directory) / name).write_bytes(data)
    (pathlib.Path(directory) / f'{name}.ready').write_bytes(b'')


def test_reads_object_written_upstream_way(tmp_path: pathlib.Path) -> None:
    name = str(uuid.uuid4())
    with FileConnector(str(tmp_path / 's')) as connector:
        _upstream_write(connector.store_dir, name, serialize([1, 2]))
        key = FileKey(name)
        assert connector.exists(key)
        assert deserialize(stored(connector, key)) == [1, 2]
        assert list(map(as_bytes, connector.get_batch([key]))) == [
            serialize([1, 2]),
        ]


def test_upstream_object_without_marker_is_still_being_written(
    tmp_path: pathlib.Path,
) -> None:
    name = str(uuid.uuid4())
    with FileConnector(str(tmp_path / 's')) as connector:
        (pathlib.Path(connector.store_dir) / name).write_bytes(b'partial')
        key = FileKey(name)
        assert not connector.exists(key)
        assert connector.get(key) is None
        (pathlib.Path(connector.store_dir) / f'{name}.ready').touch()
        assert as_bytes(connector.get(key)) == b'partial'


def test_upstream_style_key_gets_a_marker_and_evicts_both(
    tmp_path: pathlib.Path,
) -> None:
    key = FileKey(str(uuid.uuid4()))
    with FileConnector(str(tmp_path / 's')) as connector:
        connector.set(key, b'ours')
        assert sorted(os.listdir(connector.store_dir)) == [
            key.filename,
            f'{key.filename}.ready',
        ]
        assert as_bytes(connector.get(key)) == b'ours'
        connector.evict(key)
        assert os.listdir(connector.store_dir) == []


def test_own_keys_need_no_marker(tmp_path: pathlib.Path) -> None:
    with FileConnector(str(tmp_path / 's')) as connector:
        key = connector.put(b'x')
        assert os.listdir(connector.store_dir) == [key.filename]
        for near in (f'x{uuid.uuid4()}', str(uuid.uuid4()).upper()):
            connector.set(FileKey(near), b'near')
            assert as_bytes(connector.get(FileKey(near))) == b'near'


# Logging --------------------------------------------------------------------


def test_lifecycle_logged_at_info_operations_at_debug(
    tmp_path: pathlib.Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger='proxystore.connectors.file')
    connector = FileConnector(str(tmp_path / 's'))
    key = connector.put(b'x')
    connector.get(key)
    connector.evict(key)
    connector.close()
    records = [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name == 'proxystore.connectors.file'
    ]
    info = [m for level, m in records if level == logging.INFO]
    debug = [m for level, m in records if level == logging.DEBUG]
    assert info[0].startswith('Opened FileConnector')
    assert info[-1].startswith('Closed FileConnector')
    assert len(debug) == 3
    assert all(key.filename in m for m in debug)


def test_symlinked_marker_does_not_publish(tmp_path: pathlib.Path) -> None:
    name = str(uuid.uuid4())
    with FileConnector(str(tmp_path / 's')) as connector:
        store = pathlib.Path(connector.store_dir)
        (store / name).write_bytes(b'partial')
        (tmp_path / 'elsewhere').touch()
        (store / f'{name}.ready').symlink_to(tmp_path / 'elsewhere')
        assert connector.get(FileKey(name)) is None
        assert not connector.exists(FileKey(name))


def test_repr_names_the_directory(tmp_path: pathlib.Path) -> None:
    with FileConnector(str(tmp_path / 's')) as connector:
        assert repr(connector) == f'FileConnector(directory={tmp_path}/s)'
