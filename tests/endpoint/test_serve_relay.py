"""`serve` with a relay: two endpoint processes peer through a local relay."""

from __future__ import annotations

import contextlib
import pathlib
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from proxystore.endpoint import client
from proxystore.endpoint.commands import EndpointCommandError
from proxystore.endpoint.commands import launch_endpoint
from proxystore.endpoint.commands import new_endpoint_config
from proxystore.endpoint.commands import terminate_endpoint
from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import get_endpoint_dir
from proxystore.endpoint.config import write_config
from tests.fixtures.ports import free_port
from tests.fixtures.processes import stop_process

pytest.importorskip('aiortc')
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def relay_address() -> Iterator[str]:
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            '-m',
            'proxystore.p2p.relay.run',
            '--host',
            '127.0.0.1',
            '--port',
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import socket

        for _ in range(400):
            assert process.poll() is None, 'relay exited'
            try:
                socket.create_connection(('127.0.0.1', port), 1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f'ws://127.0.0.1:{port}'
    finally:
        stop_process(process)


def _start(home: str, name: str, relay: str) -> EndpointConfig:
    config = new_endpoint_config(
        name,
        host='127.0.0.1',
        port=free_port(),
        relay_address=relay,
        proxystore_dir=home,
    )
    assert config.relay.secret is not None  # proves the UUID to the relay
    # No public STUN lookups from tests.
    relay_config = config.relay.model_copy(
        update={'check_nat': False, 'ice_servers': []},
    )
    write_config(
        config.model_copy(update={'relay': relay_config}),
        get_endpoint_dir(name, home),
    )
    return launch_endpoint(name, proxystore_dir=home)


def test_endpoints_peer_through_the_relay(
    tmp_path: pathlib.Path,
    relay_address: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Keep peer traffic on loopback: data goes through the relay.
    monkeypatch.setenv('PROXYSTORE_ICE_TRANSPORT_POLICY', 'relay')
    homes = {name: str(tmp_path / name) for name in 'ab'}
    try:
        a = _start(homes['a'], 'a', relay_address)
        b = _start(homes['b'], 'b', relay_address)
        client.put(a.local_url(), 'on-a', b'from a', token=a.token)
        got = client.get(b.local_url(), 'on-a', a.uuid, token=b.token)
        assert got == b'from a'
        assert client.exists(b.local_url(), 'on-a', a.uuid, token=b.token)
        client.put(b.local_url(), 'to-a', b'via b', a.uuid, token=b.token)
        assert client.get(a.local_url(), 'to-a', token=a.token) == b'via b'
        assert client.get(b.local_url(), 'to-a', token=b.token) is None
        client.evict(b.local_url(), 'on-a', a.uuid, token=b.token)
        assert not client.exists(a.local_url(), 'on-a', token=a.token)
    finally:
        for name, home in homes.items():
            with contextlib.suppress(EndpointCommandError):
                terminate_endpoint(name, proxystore_dir=home)
