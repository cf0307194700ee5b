"""Peering as real processes: a relay, three endpoints, a spawned reader.

A proxy put through endpoint A resolves in a spawned process that only
knows endpoint B (WebRTC between A and B, host candidates on loopback),
and one that only knows endpoint C, whose ICE is made to fail (transport
policy 'relay' without a TURN server), so the data is relayed through the
relay's websocket.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pathlib
import pickle
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

from proxystore.connectors.endpoint import EndpointConnector
from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import EndpointRelayConfig
from proxystore.endpoint.config import write_config
from proxystore.store.base import Store
from tests.fixtures.ports import free_port
from tests.fixtures.processes import stop_process

pytestmark = pytest.mark.timeout(120)

_SERVE = (
    'import sys\n'
    'from proxystore.endpoint.config import read_config\n'
    'from proxystore.endpoint.serve import serve\n'
    'serve(read_config(sys.argv[1]), use_uvloop=False,\n'
    '      log_file=sys.argv[1] + "/log.txt")\n'
)


def _wait_for(predicate: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, 'timed out'
        time.sleep(0.05)


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(('127.0.0.1', port)) == 0


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(
            f'http://127.0.0.1:{port}/',
            timeout=1,
        ) as r:
            return bool(r.status == 200)
    except OSError:
        return False


@contextlib.contextmanager
def _process(
    args: list[str],
    log: pathlib.Path,
    env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open('ab') as out:
        process = subprocess.Popen(
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    try:
        yield process
    finally:
        stop_process(process)


@contextlib.contextmanager
def relay_process(tmp_path: pathlib.Path) -> Iterator[str]:
    """Run `proxystore-relay` on a free loopback port."""
    port = free_port()
    with _process(
        [
            sys.executable,
            '-m',
            'proxystore.p2p.relay.run',
            '--host',
            '127.0.0.1',
            '--port',
            str(port),
        ],
        tmp_path / 'relay.log',
    ) as process:
        _wait_for(lambda: _listening(port) or process.poll() is not None)
        assert process.poll() is None, (tmp_path / 'relay.log').read_text()
        yield f'ws://127.0.0.1:{port}'


@contextlib.contextmanager
def endpoint(
    home: pathlib.Path,
    name: str,
    relay: str,
    env: dict[str, str] | None = None,
) -> Iterator[EndpointConfig]:
    """Configure and serve endpoint `name` in its own proxystore dir."""
    config = EndpointConfig(
        name=name,
        uuid=str(uuid.uuid4()),
        port=free_port(),
        host='127.0.0.1',
        host_type='static',
        relay=EndpointRelayConfig(
            address=relay,
            ice_servers=[],
            check_nat=False,
        ),
    )
    directory = home / name / name
    write_config(config, str(directory))
    env = {'PROXYSTORE_STUN_SERVERS': '', **(env or {})}
    with _process(
        [sys.executable, '-c', _SERVE, str(directory)],
        home / f'{name}.out',
        env,
    ) as process:
        _wait_for(lambda: _healthy(config.port) or process.poll() is not None)
        assert process.poll() is None, (home / f'{name}.out').read_text()
        yield config


def _resolve_through(
    proxy_bytes: bytes,
    store_name: str,
    endpoints: list[str],
    proxystore_dir: str,
) -> Any:
    # The reader knows only one endpoint (the only config in its dir), so
    # the proxy's data, owned by A, is fetched through that endpoint.
    connector = EndpointConnector(endpoints, proxystore_dir=proxystore_dir)
    with Store(store_name, connector, register=True) as store:
        assert store.connector.endpoint_uuid != uuid.UUID(endpoints[0])
        proxy = pickle.loads(proxy_bytes)
        return list(proxy)


def test_proxy_resolves_through_peers(tmp_path: pathlib.Path) -> None:
    with (
        relay_process(tmp_path) as relay,
        endpoint(
            tmp_path,
            'a',
            relay,
        ) as a,
        endpoint(tmp_path, 'b', relay) as b,
        endpoint(
            tmp_path,
            'c',
            relay,
            {'PROXYSTORE_ICE_TRANSPORT_POLICY': 'relay'},
        ) as c,
    ):
        uuids = [a.uuid, b.uuid, c.uuid]
        value = list(range(200_000))  # about 1 MB pickled
        connector = EndpointConnector(
            uuids, proxystore_dir=str(tmp_path / 'a')
        )
        with Store('peering', connector, register=True) as store:
            proxy = store.proxy(value)
            key = store.connector.put(b'raw bytes')
            assert key.endpoint_id == a.uuid
            proxy_bytes = pickle.dumps(proxy)
            context = multiprocessing.get_context('spawn')
            with ProcessPoolExecutor(1, mp_context=context) as pool:
                for reader in ('b', 'c'):
                    result = pool.submit(
                        _resolve_through,
                        proxy_bytes,
                        'peering',
                        uuids,
                        str(tmp_path / reader),
                    ).result(timeout=60)
                    assert result == value
    logs = {
        name: (tmp_path / name / name / 'log.txt').read_text()
        for name in 'abc'
    }
    assert '(path: direct)' in logs['b']
    assert 'path: relayed' not in logs['b']
    assert '(path: relayed)' in logs['c']
    assert '(path: relayed)' in logs['a']
