"""FileConnector specifics: key safety, atomic writes, clearing."""

from __future__ import annotations

import multiprocessing
import os
import pathlib
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.file import FileKey
from proxystore.serialize import deserialize
from proxystore.serialize import serialize

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
]


@pytest.fixture
def layout(
    tmp_path: pathlib.Path,
) -> Iterator[tuple[FileConnector, pathlib.Path]]:
    outside = tmp_path / 'outside'
    outside.write_bytes(b'not yours')
    connector = FileConnector(str(tmp_path / 'store'))
    yield connector, outside
    connector.close()


def _operations(connector: FileConnector, key: FileKey) -> list[Any]:
    return [
        lambda: connector.get(key),
        lambda: connector.exists(key),
        lambda: connector.evict(key),
        lambda: connector.set(key, b'overwrite'),
        lambda: connector.get_batch([key]),
    ]


@pytest.mark.parametrize('filename', BAD_FILENAMES)
def test_escaping_filename_rejected(
    layout: tuple[FileConnector, pathlib.Path],
    filename: str,
) -> None:
    connector, outside = layout
    kept = connector.put(b'kept')
    before = sorted(os.listdir(connector.store_dir))
    for operation in _operations(connector, FileKey(filename)):
        with pytest.raises(ValueError, match='Invalid FileKey filename'):
            operation()
    assert outside.read_bytes() == b'not yours'
    assert sorted(os.listdir(connector.store_dir)) == before
    assert connector.get(kept) == b'kept'


def test_absolute_path_rejected(
    layout: tuple[FileConnector, pathlib.Path],
) -> None:
    connector, outside = layout
    for operation in _operations(connector, FileKey(str(outside))):
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


@pytest.mark.parametrize(
    ('clear', 'override', 'removed'),
    [
        (True, None, True),
        (False, None, False),
        (True, False, False),
        (False, True, True),
    ],
)
def test_close_clear(
    tmp_path: pathlib.Path,
    clear: bool,
    override: bool | None,
    removed: bool,
) -> None:
    connector = FileConnector(str(tmp_path / 's'), clear=clear)
    key = connector.put(b'x')
    connector.close(clear=override)
    assert os.path.exists(connector.store_dir) is not removed
    if not removed:
        assert FileConnector(connector.store_dir).get(key) == b'x'


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


def test_large_get_is_writable_and_independent(tmp_path: pathlib.Path) -> None:
    with FileConnector(str(tmp_path / 's')) as connector:
        data = bytes(range(256)) * 8192  # 2 MiB
        key = connector.put(data)
        first = connector.get(key)
        assert first is not None
        view = memoryview(first)
        assert not view.readonly
        view[:4] = b'XXXX'
        assert connector.get(key) == data


def test_deserialize_from_get_does_not_touch_file(
    tmp_path: pathlib.Path,
) -> None:
    np = pytest.importorskip('numpy')
    with FileConnector(str(tmp_path / 's')) as connector:
        array = np.arange(300_000, dtype=np.float64)
        key = connector.put(serialize(array))
        result = deserialize(connector.get(key))
        result[:] = -1
        again = deserialize(connector.get(key))
        np.testing.assert_array_equal(again, array)


# Writer killed mid-write ---------------------------------------------------

HUGE = 768 << 20


def _write_huge(config: dict[str, Any], key: FileKey | None) -> None:
    connector = FileConnector.from_config(config)
    data = bytes(HUGE)
    if key is None:
        connector.put(data)
    else:
        connector.set(key, data)


def _partial_temp_file(store_dir: str) -> bool:
    for name in os.listdir(store_dir):
        if name.startswith('.'):
            try:
                size = os.path.getsize(os.path.join(store_dir, name))
            except FileNotFoundError:
                continue
            if 0 < size < HUGE:
                return True
    return False


def _kill_mid_write(connector: FileConnector, key: FileKey | None) -> None:
    context = multiprocessing.get_context('spawn')
    process = context.Process(
        target=_write_huge,
        args=(connector.config(), key),
    )
    process.start()
    try:
        deadline = time.monotonic() + 60
        while not _partial_temp_file(connector.store_dir):
            assert process.is_alive(), 'writer finished before being killed'
            assert time.monotonic() < deadline
            time.sleep(0.0005)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.join()
    assert process.exitcode == -signal.SIGKILL


@pytest.mark.slow
def test_killed_set_leaves_no_partial_object(tmp_path: pathlib.Path) -> None:
    with FileConnector(str(tmp_path / 's')) as connector:
        kept = connector.put(b'kept')
        key = connector.new_key()
        _kill_mid_write(connector, key)
        assert not connector.exists(key)
        assert connector.get(key) is None
        assert connector.get_batch([key, kept]) == [None, b'kept']
        connector.set(key, b'retry')
        assert connector.get(key) == b'retry'


@pytest.mark.slow
def test_killed_put_leaves_no_partial_object(tmp_path: pathlib.Path) -> None:
    with FileConnector(str(tmp_path / 's')) as connector:
        kept = connector.put(b'kept')
        _kill_mid_write(connector, None)
        visible = [
            name
            for name in os.listdir(connector.store_dir)
            if not name.startswith('.')
        ]
        assert visible == [kept.filename]
        assert connector.get(kept) == b'kept'


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


def test_symlink_in_store_is_not_followed(
    layout: tuple[FileConnector, pathlib.Path],
) -> None:
    connector, outside = layout
    os.symlink(outside, os.path.join(connector.store_dir, 'link'))
    key = FileKey('link')
    assert not connector.exists(key)
    assert connector.get(key) is None
    connector.evict(key)  # removes the link, never its target
    assert outside.read_bytes() == b'not yours'
    assert not os.path.lexists(os.path.join(connector.store_dir, 'link'))


@pytest.mark.parametrize('buffering', [0, -1, 8192])
def test_buffering(tmp_path: pathlib.Path, buffering: int) -> None:
    data = bytes(range(256)) * 5000
    with FileConnector(str(tmp_path / 's'), buffering=buffering) as c:
        assert c.get(c.put(data)) == data


@pytest.mark.parametrize('obj', [5, 'text', None])
def test_put_rejects_non_bytes_like(
    layout: tuple[FileConnector, pathlib.Path],
    obj: Any,
) -> None:
    connector, _ = layout
    kept = connector.put(b'kept')
    with pytest.raises(TypeError):
        connector.put(obj)
    assert os.listdir(connector.store_dir) == [kept.filename]
    assert connector.get(kept) == b'kept'


def test_non_contiguous_buffer_is_stored_in_order(
    layout: tuple[FileConnector, pathlib.Path],
) -> None:
    connector, _ = layout
    view = memoryview(b'a-b-c-d')[::2]
    assert connector.get(connector.put(view)) == b'abcd'
