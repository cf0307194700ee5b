"""The README's commands and Python blocks work as written.

Each Python block runs unchanged except for the placeholders a reader
replaces too: the `/tmp/proxystore` directory (a fresh temporary one here)
and the Redis host, port and password (a real `redis-server` that this
module starts with a password).
"""

from __future__ import annotations

import multiprocessing
import pathlib
import pickle
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from proxystore.proxy import Proxy
from proxystore.proxy import is_resolved
from proxystore.store import get_store
from proxystore.store import unregister_store
from tests.fixtures.redis import RedisServer
from tests.fixtures.redis import redis_server_in_tmpdir
from tests.helpers.docs import ROOT
from tests.helpers.docs import code_blocks

README = (ROOT / 'README.md').read_text()
REDIS_PASSWORD = 'readme-secret'
REDIS_PLACEHOLDER = "'head-node.example.org', 6379, password='...'"


def commands(block: str) -> list[str]:
    """The commands of a shell block (comments and blank lines dropped)."""
    lines = block.replace('\\\n', ' ').splitlines()
    return [x.strip() for x in lines if x.strip() and not x.startswith('#')]


PYTHON_BLOCKS = code_blocks(README)
FILE_BLOCK = next(b for b in PYTHON_BLOCKS if 'FileConnector' in b)
REDIS_BLOCK = next(b for b in PYTHON_BLOCKS if 'RedisConnector' in b)


def test_every_python_block_is_covered() -> None:
    assert sorted(PYTHON_BLOCKS) == sorted([FILE_BLOCK, REDIS_BLOCK])


def test_quick_start_commands() -> None:
    install_and_demo, install_and_test = commands(
        code_blocks(README, 'bash')[0],
    )
    # tests/test_examples.py runs the demo itself.
    assert install_and_demo.endswith('python examples/quickstart.py')
    assert (ROOT / 'examples' / 'quickstart.py').is_file()
    # "The second command is exactly what CI runs (`.ci/run`)."
    ci_script = (ROOT / '.ci' / 'run').read_text().strip().splitlines()
    assert ci_script[-1] == install_and_test


def test_file_connector_block(tmp_path: pathlib.Path) -> None:
    store_dir = str(tmp_path / 'proxystore')
    assert FILE_BLOCK.count("'/tmp/proxystore'") == 1
    namespace: dict[str, Any] = {}
    exec(FILE_BLOCK.replace("'/tmp/proxystore'", repr(store_dir)), namespace)
    proxy = namespace['proxy']
    assert type(proxy) is Proxy
    assert proxy == {'weights': [0.1, 0.2, 0.3]}
    # "proxy is ~300 bytes"
    assert len(pickle.dumps(proxy)) <= 400
    assert get_store('my-store') is None


@pytest.fixture(scope='module')
def password_redis() -> Iterator[RedisServer]:
    with redis_server_in_tmpdir(
        '--requirepass',
        REDIS_PASSWORD,
        '--save',
        '',
    ) as server:
        yield server


def resolve_in_worker(proxy: Any) -> tuple[bool, Any]:
    """Runs in a spawned process that has no store named 'shared'."""
    found_before = get_store('shared') is not None
    return found_before, proxy['rows'][:3]


def test_redis_block(password_redis: RedisServer) -> None:
    assert REDIS_BLOCK.count(REDIS_PLACEHOLDER) == 1
    server = f"'{password_redis.host}', {password_redis.port}, "
    code = REDIS_BLOCK.replace(
        REDIS_PLACEHOLDER,
        f'{server}password={REDIS_PASSWORD!r}',
    )
    big_object = {'rows': list(range(100_000))}
    namespace: dict[str, Any] = {'big_object': big_object}
    try:
        exec(code, namespace)
        store, proxy = namespace['store'], namespace['proxy']
        assert get_store('shared') is store
        assert is_resolved(proxy)  # the store's default populate_target
        # "ship `proxy` to any host": a fresh process rebuilds the store
        # from the configuration inside the proxy and fetches the object.
        spawn = multiprocessing.get_context('spawn')
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            found_before, head = pool.submit(resolve_in_worker, proxy).result()
        assert found_before is False
        assert head == [0, 1, 2]
        assert proxy == big_object
    finally:
        if 'store' in namespace:
            unregister_store(namespace['store'])
            namespace['store'].close()
