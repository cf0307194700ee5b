from __future__ import annotations

import atexit
import datetime
import logging
import pathlib
import uuid
from typing import Any

import pytest

from proxystore.connectors.local import LocalConnector
from proxystore.factory import SimpleFactory
from proxystore.proxy import Proxy
from proxystore.store import Store
from proxystore.store.exceptions import ProxyStoreFactoryError
from proxystore.store.lifetimes import ContextLifetime
from proxystore.store.lifetimes import LeaseLifetime
from proxystore.store.lifetimes import Lifetime
from proxystore.store.lifetimes import StaticLifetime
from proxystore.store.lifetimes import register_lifetime_atexit
from proxystore.store.utils import get_key
from tests.helpers.scripts import run_python
from tests.store._ownership_helpers import wait_until
from tests.store._threads import run_in_threads


def test_context_lifetime(local_store: Store[Any]) -> None:
    kept = local_store.put('kept')
    with ContextLifetime(local_store, name='ctx') as lifetime:
        assert isinstance(lifetime, Lifetime)
        assert lifetime.name == 'ctx'
        key = local_store.put('a', lifetime=lifetime)
        keys = local_store.put_batch(['b', 'c'], lifetime=lifetime)
        proxy = local_store.proxy('d', lifetime=lifetime)
        batch = local_store.proxy_batch(['e'], lifetime=lifetime)
        from_key = local_store.proxy_from_key(
            local_store.put('f'),
            lifetime=lifetime,
        )
        all_keys = [key, *keys, *(get_key(p) for p in [proxy, *batch])]
        all_keys.append(get_key(from_key))
        assert all(local_store.exists(k) for k in all_keys)
        assert not lifetime.done()
    assert lifetime.done()
    assert not any(local_store.exists(k) for k in all_keys)
    assert local_store.get(kept) == 'kept'


def test_add_key_and_proxy(local_store: Store[Any]) -> None:
    lifetime = ContextLifetime(local_store)
    key = local_store.put('a')
    proxy = local_store.proxy('b', populate_target=False)
    lifetime.add_key(key)
    lifetime.add_proxy(proxy)
    assert repr(lifetime) == (
        f'Lifetime(name={lifetime.name}, store={local_store!r})'
    )
    assert str(uuid.UUID(lifetime.name)) == lifetime.name
    lifetime.close()
    assert not local_store.exists(key)
    assert not local_store.exists(get_key(proxy))
    lifetime.close()  # Closing again does nothing.
    ended = 'Lifetime has ended. Cannot use this method.'
    with pytest.raises(RuntimeError, match=ended):
        lifetime.add_key(key)
    with pytest.raises(RuntimeError, match=ended):
        lifetime.add_proxy(proxy)
    lease = LeaseLifetime(local_store, expiry=60)
    lease.close()
    with pytest.raises(RuntimeError, match=ended):
        lease.extend(1)


def test_add_proxy_not_from_store(local_store: Store[Any]) -> None:
    lifetime = ContextLifetime(local_store)
    with pytest.raises(
        ProxyStoreFactoryError,
        match=(
            'The proxy must contain a factory with type StoreFactory. '
            'SimpleFactory is not supported.'
        ),
    ):
        lifetime.add_proxy(Proxy(SimpleFactory('x')))
    lifetime.close()


def test_close_stores(store_name: str) -> None:
    connector = LocalConnector()
    store = Store(store_name, connector)
    lifetime = ContextLifetime(store)
    lifetime.close(close_stores=True)
    assert store._closed


def test_lease_lifetime_expires(local_store: Store[Any]) -> None:
    lifetime = LeaseLifetime(local_store, expiry=0.05)
    key = local_store.put('a', lifetime=lifetime)
    assert wait_until(lifetime.done, timeout=10)
    assert not local_store.exists(key)


def test_lease_lifetime_extend(local_store: Store[Any]) -> None:
    lifetime = LeaseLifetime(
        local_store,
        expiry=datetime.timedelta(seconds=100),
    )
    first = lifetime.expiry
    lifetime.extend(10)
    assert lifetime.expiry == pytest.approx(first + 10)
    lifetime.extend(datetime.timedelta(seconds=5))
    assert lifetime.expiry == pytest.approx(first + 15)
    target = datetime.datetime.now() + datetime.timedelta(seconds=1000)
    lifetime.extend(target)
    assert lifetime.expiry == pytest.approx(target.timestamp())
    key = local_store.put('a', lifetime=lifetime)
    assert local_store.exists(key)
    # Bring the expiry into the past: the timer thread ends the lifetime.
    lifetime.extend(datetime.datetime.now() - datetime.timedelta(seconds=1))
    assert wait_until(lifetime.done, timeout=10)
    assert not local_store.exists(key)
    with pytest.raises(RuntimeError):
        lifetime.extend(1)


def test_lease_lifetime_close_early(local_store: Store[Any]) -> None:
    lifetime = LeaseLifetime(local_store, expiry=1000)
    key = local_store.put('a', lifetime=lifetime)
    lifetime.close()
    assert lifetime.done()
    assert not local_store.exists(key)
    assert not lifetime._timer.is_alive()


def test_lease_lifetime_bad_expiry(local_store: Store[Any]) -> None:
    with pytest.raises(TypeError, match='expiry'):
        LeaseLifetime(local_store, expiry='soon')  # type: ignore[arg-type]


def test_static_lifetime(local_store: Store[Any], store_name: str) -> None:
    lifetime = StaticLifetime()
    assert StaticLifetime() is lifetime
    assert not lifetime.done()
    with pytest.raises(
        ValueError,
        match='The StaticLifetime requires the store parameter.',
    ):
        lifetime.add_key('key')
    key = local_store.put('a', lifetime=lifetime)
    proxy = local_store.proxy('b', lifetime=lifetime)
    assert local_store.exists(key)
    assert local_store.exists(get_key(proxy))
    # The static lifetime ends at interpreter exit; the store being closed
    # before then must not make that fail.


def test_register_lifetime_atexit(store_name: str) -> None:
    store = Store(store_name, LocalConnector())
    lifetime = ContextLifetime(store)
    key = store.put('a', lifetime=lifetime)
    callback = register_lifetime_atexit(lifetime, close_stores=True)
    try:
        callback()  # What atexit will run.
        assert lifetime.done()
        assert store.closed
        assert key not in store.connector._store
    finally:
        atexit.unregister(callback)


def test_lifetime_thread_safety(local_store: Store[Any]) -> None:
    lifetime = ContextLifetime(local_store)

    def work(_: int) -> None:
        for i in range(50):
            local_store.put(i, lifetime=lifetime)

    run_in_threads(work, 4)
    assert len(local_store.connector._store) == 200
    lifetime.close()
    assert len(local_store.connector._store) == 0


STATIC_AT_EXIT = """
from proxystore.connectors.file import FileConnector
from proxystore.store import Store
from proxystore.store.lifetimes import StaticLifetime

store = Store('static', FileConnector('store', clear=True))
store.put('a', lifetime=StaticLifetime())
"""


def test_static_lifetime_closes_stores_at_exit(tmp_path: pathlib.Path) -> None:
    script = tmp_path / 'static.py'
    script.write_text(STATIC_AT_EXIT)
    run_python(script, cwd=tmp_path)
    # The store was closed at exit: FileConnector(clear=True) removed its
    # directory (an eviction alone leaves it behind).
    assert not (tmp_path / 'store').exists()


def test_lifetimes_log(
    local_store: Store[Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger='proxystore.store.lifetimes'):
        lifetime = ContextLifetime(local_store, name='logged')
        key = local_store.put('a', lifetime=lifetime)
        lifetime.close()
        callback = register_lifetime_atexit(lifetime)
        atexit.unregister(callback)
    records = [
        (r.levelno, r.getMessage())
        for r in caplog.records
        if r.name == 'proxystore.store.lifetimes'
    ]
    assert records == [
        (logging.INFO, 'Initialized lifetime manager (name=logged)'),
        (
            logging.DEBUG,
            f'Added keys to lifetime manager (name=logged): {key}',
        ),
        (
            logging.INFO,
            'Closed lifetime manager and evicted 1 associated objects '
            '(name=logged)',
        ),
        (logging.DEBUG, f'Registered atexit callback for {lifetime!r}'),
    ]
