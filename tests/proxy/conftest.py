"""Every test in this directory runs against both proxy cores.

The autouse fixture below is parametrized with `'c'` and `'python'`. For
each test it replaces the module-level name `Proxy` of the test module with
the plain `Proxy` class built on that core (the C core is skipped with a
reason if the extension is not built), so the same test body checks both
implementations. Cross-process tests get a spawned worker that imports the
same core (`spawn_pool`).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from proxystore.proxy import _backend
from proxystore.proxy._proxy import make_proxy_class

IMPLEMENTATIONS = ('c', 'python')


def proxy_class(name: Any) -> Any:
    """The plain Proxy class on the core `name` (skip if unavailable)."""
    try:
        core = _backend.load(name)
    except ImportError as e:  # pragma: no cover (no compiler)
        pytest.skip(f'C proxy core not built: {e}')
    return make_proxy_class(core)


_current: list[str] = []


def current_implementation() -> str:
    """The core the running test uses (`'c'` or `'python'`)."""
    return _current[-1]


@pytest.fixture(params=IMPLEMENTATIONS, autouse=True)
def implementation(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """Run the test with `Proxy` bound to each core in turn."""
    cls = proxy_class(request.param)
    if hasattr(request.module, 'Proxy'):
        monkeypatch.setattr(request.module, 'Proxy', cls)
    _current.append(str(request.param))
    yield str(request.param)
    _current.pop()


@pytest.fixture(scope='module', params=IMPLEMENTATIONS)
def spawn_pool(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A one-worker spawned pool whose worker imports the given core."""
    if request.param == 'c':
        proxy_class('c')
    context = multiprocessing.get_context('spawn')
    saved = os.environ.get('PROXYSTORE_PURE_PYTHON')
    os.environ['PROXYSTORE_PURE_PYTHON'] = (
        '1' if request.param == 'python' else '0'
    )
    try:
        pool = ProcessPoolExecutor(1, mp_context=context)
        # Start the worker now, while the environment selects the core.
        pool.submit(os.getpid).result()
    finally:
        if saved is None:
            del os.environ['PROXYSTORE_PURE_PYTHON']
        else:
            os.environ['PROXYSTORE_PURE_PYTHON'] = saved
    pool.implementation = request.param  # type: ignore[attr-defined]
    with pool:
        yield pool
