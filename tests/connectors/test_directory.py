"""What File and SharedMemory connectors share: one file per object.

Both write to a hidden temporary file renamed into place, never follow
symlinks, treat only regular files as objects, store batches all or
nothing and take `close(clear=...)`. Each test runs against both; key rules
and what clearing removes, which differ, are tested in `test_file.py` and
`test_shm.py`.
"""

from __future__ import annotations

import errno
import multiprocessing
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from proxystore.connectors.file import FileConnector
from proxystore.connectors.shm import SharedMemoryConnector
from tests.helpers.connectors import kill_mid_write
from tests.helpers.connectors import partial_temp_file

HUGE = 512 << 20
"""Large enough that a writer is still writing when it is found."""


class Layout:
    """A connector, the directory of its files, and a key name in it.

    Attributes:
        connector: The open connector.
        directory: Directory holding its files.
        free_key: A valid key of the connector that names no object yet.
    """

    def __init__(self, connector: Any, directory: str) -> None:
        self.connector = connector
        self.directory = directory
        self.free_key = connector.new_key()

    def listing(self) -> list[str]:
        return sorted(os.listdir(self.directory))

    def visible(self) -> list[str]:
        return [name for name in self.listing() if not name.startswith('.')]

    def path(self, key: Any) -> str:
        return os.path.join(self.directory, key[0])


@pytest.fixture(params=['file', 'shm'])
def layout(
    request: pytest.FixtureRequest,
    tmp_path: pathlib.Path,
    shm_test_dir: str,
) -> Iterator[Layout]:
    connector: Any
    if request.param == 'file':
        connector = FileConnector(str(tmp_path / 'store'))
        directory = connector.store_dir
    else:
        connector = SharedMemoryConnector('ours', shm_dir=shm_test_dir)
        directory = connector.shm_dir
    yield Layout(connector, directory)
    connector.close()


# Function run in a spawned process (must be importable).
def put_with_file_size_limit(
    kind: type[Any],
    config: dict[str, Any],
    nbytes: int,
    batch: bool,
) -> tuple[int | None, str]:
    import resource

    # Python ignores SIGXFSZ, so exceeding the limit is an EFBIG OSError.
    resource.setrlimit(resource.RLIMIT_FSIZE, (nbytes // 2, nbytes // 2))
    connector = kind.from_config(config)
    try:
        if batch:
            connector.put_batch([b'fits', bytes(nbytes)])
        else:
            connector.put(bytes(nbytes))
    except OSError as e:
        return e.errno, str(e)
    return None, ''


@pytest.mark.parametrize('obj', [5, 'text', None, [b'ok', 5]])
def test_put_rejects_non_bytes_like(layout: Layout, obj: Any) -> None:
    connector = layout.connector
    kept = connector.put(b'kept')
    with pytest.raises(TypeError):
        connector.put(obj)
    with pytest.raises(TypeError):
        connector.set(layout.free_key, obj)
    assert layout.listing() == [kept[0]]
    assert connector.get(kept) == b'kept'


def test_put_batch_with_bad_object_stores_nothing(layout: Layout) -> None:
    connector = layout.connector
    kept = connector.put(b'kept')
    with pytest.raises(TypeError):
        connector.put_batch([b'first', bytearray(b'second'), 5])
    assert layout.listing() == [kept[0]]
    assert connector.get(kept) == b'kept'


@pytest.mark.parametrize('batch', [False, True])
def test_full_file_system_raises_clear_error_and_leaves_nothing(
    layout: Layout,
    batch: bool,
) -> None:
    connector = layout.connector
    kept = connector.put(b'kept')
    with ProcessPoolExecutor(
        1,
        mp_context=multiprocessing.get_context('spawn'),
    ) as pool:
        code, message = pool.submit(
            put_with_file_size_limit,
            type(connector),
            connector.config(),
            2 << 20,
            batch,
        ).result()
    assert code == errno.EFBIG
    assert f'No room for an object of 2097152 bytes in {layout.directory}' in (
        message
    )
    assert layout.listing() == [kept[0]]
    assert connector.get(kept) == b'kept'


def test_large_get_is_writable_and_independent(layout: Layout) -> None:
    connector = layout.connector
    data = bytes(range(256)) * 8192  # 2 MiB
    key = connector.put(data)
    first = connector.get(key)
    assert first is not None
    view = memoryview(first)
    assert not view.readonly
    view[:4] = b'XXXX'
    assert connector.get(key) == data
    assert bytes(view[:4]) == b'XXXX'


def test_non_contiguous_buffer_is_stored_in_order(layout: Layout) -> None:
    connector = layout.connector
    view = memoryview(b'a-b-c-d')[::2]
    assert connector.get(connector.put(view)) == b'abcd'


def test_symlink_under_key_is_never_followed(
    layout: Layout,
    tmp_path: pathlib.Path,
) -> None:
    connector, key = layout.connector, layout.free_key
    outside = tmp_path / 'outside'
    outside.write_bytes(b'not yours')
    os.symlink(outside, layout.path(key))
    assert not connector.exists(key)
    assert connector.get(key) is None
    assert connector.get_batch([key]) == [None]
    connector.evict(key)  # removes the link, never its target
    assert not os.path.lexists(layout.path(key))
    assert outside.read_bytes() == b'not yours'
    connector.close()
    assert outside.read_bytes() == b'not yours'


def test_fifo_under_key_is_not_an_object(layout: Layout) -> None:
    connector, key = layout.connector, layout.free_key
    os.mkfifo(layout.path(key))
    assert connector.get(key) is None  # does not block on the FIFO
    assert not connector.exists(key)
    connector.evict(key)
    assert not os.path.lexists(layout.path(key))


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
    layout: Layout,
    clear: bool,
    override: bool | None,
    removed: bool,
) -> None:
    kind = type(layout.connector)
    config = {**layout.connector.config(), 'clear': clear}
    connector = kind.from_config(config)
    key = connector.put(b'x')
    connector.close(clear=override)
    connector.close(clear=override)  # closing twice is harmless
    assert connector.exists(key) is not removed
    again = kind.from_config({**config, 'clear': False})
    assert again.get(key) == (None if removed else b'x')


# Writers killed mid-write --------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize('deferred', [False, True], ids=['put', 'set'])
def test_killed_writer_leaves_no_partial_object(
    layout: Layout,
    deferred: bool,
) -> None:
    connector = layout.connector
    kept = connector.put(b'kept')
    key = layout.free_key if deferred else None
    kill_mid_write(
        connector,
        key,
        HUGE,
        lambda: partial_temp_file(layout.directory, HUGE),
    )
    # Only the killed writer's hidden temporary file is left.
    assert layout.visible() == [kept[0]]
    assert len(layout.listing()) == 2
    if key is not None:
        assert not connector.exists(key)
        assert connector.get(key) is None
        assert connector.get_batch([key, kept]) == [None, b'kept']
        connector.set(key, b'retry')
        assert connector.get(key) == b'retry'
    assert connector.get(kept) == b'kept'
    # Issue 12: the next connector to open removes what the writer left.
    reopened = type(connector).from_config(
        {**connector.config(), 'clear': False},
    )
    assert layout.visible() == sorted([kept[0], *([key[0]] if key else [])])
    assert len(layout.listing()) == len(layout.visible())
    assert reopened.get(kept) == b'kept'
    # Clearing also frees what the killed writer left.
    connector.close()
    assert not os.path.exists(layout.directory) or layout.listing() == []


# Orphans of dead writers ----------------------------------------------------


def _dead_writer_tag() -> str:
    """The writer tag of a process that has exited."""
    result = subprocess.run(
        [
            sys.executable,
            '-c',
            'from proxystore.connectors._orphans import writer_tag\n'
            'print(writer_tag())',
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def _temp_name(layout: Layout, tag: str | None) -> str:
    """A temporary-file name of `layout`'s connector written by `tag`."""
    suffix = os.urandom(16).hex()
    if tag is not None:
        suffix = f'{tag}-{suffix}'
    if isinstance(layout.connector, FileConnector):
        return f'.tmp-{suffix}'
    return f'.proxystore-ours-{suffix}.tmp'


def test_orphans_swept_on_open_by_liveness_and_age(layout: Layout) -> None:
    from proxystore.connectors._orphans import STALE_AFTER_S
    from proxystore.connectors._orphans import writer_tag

    connector = layout.connector
    kept = connector.put(b'kept')
    host, pid, start = writer_tag().split('-')
    stale = time.time() - STALE_AFTER_S - 60
    planted = {
        'dead': (_dead_writer_tag(), None),
        'live': (writer_tag(), stale),
        'recycled-pid': (f'{host}-{pid}-{int(start) + 1}', None),
        'other-host': (f'ffffffffffff-{pid}-{start}', None),
        'other-host-stale': (f'ffffffffffff-{pid}-{start}', stale),
        'untagged': (None, None),
        'untagged-stale': (None, stale),
    }
    names = {}
    for label, (tag, mtime) in planted.items():
        name = _temp_name(layout, tag)
        path = os.path.join(layout.directory, name)
        with open(path, 'wb') as f:
            f.write(b'partial')
        if mtime is not None:
            os.utime(path, (mtime, mtime))
        names[label] = name
    again = type(connector).from_config({**connector.config(), 'clear': False})
    left = set(layout.listing())
    swept = {label for label, name in names.items() if name not in left}
    assert swept == {
        'dead',
        'recycled-pid',
        'other-host-stale',
        'untagged-stale',
    }
    assert kept[0] in left
    assert again.get(kept) == b'kept'
    assert again.sweep_orphans() == 0


def test_sweep_spares_a_write_in_progress(layout: Layout) -> None:
    # A write in progress: a temporary file tagged with this (live) process.
    temp = layout.connector._temp_path()
    with open(temp, 'wb') as f:
        f.write(b'in progress')
    assert layout.connector.sweep_orphans() == 0
    assert os.path.exists(temp)
