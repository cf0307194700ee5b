"""NAT traversal for real: endpoints behind masquerading routers (netns).

Five network namespaces made by the test:

    hA (10.1.0.2) -- rA (NAT) 198.51.100.2 --+
                                              pub: 198.51.100.1, 203.0.113.1
    hB (10.2.0.2) -- rB (NAT) 203.0.113.2 ----+     relay + STUN responders

The relay and two STUN responders run in `pub`; an endpoint runs in each
of hA and hB. With an endpoint-independent NAT (plain masquerade), ICE
punches through both NATs (`path: webrtc-hole-punched`). With `fully-random`
masquerading (a symmetric NAT) ICE fails and the data is relayed through
the relay. Needs root, `ip netns` and `nft`; skipped elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pathlib
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import EndpointRelayConfig
from proxystore.endpoint.config import write_config
from tests.fixtures.processes import stop_process
from tests.p2p.processes import SERVE_SCRIPT

ROOT = pathlib.Path(__file__).resolve().parents[2]
RELAY = '198.51.100.1'
STUN_SERVERS = f'{RELAY}:3478,203.0.113.1:3478'


def _skip_reason() -> str | None:
    if sys.platform != 'linux':
        return 'network namespaces need Linux'
    if os.geteuid() != 0:
        return 'creating network namespaces needs root'
    for tool in ('ip', 'nft'):
        if shutil.which(tool) is None:
            return f'{tool} is not installed (apt-get install nftables)'
    name = f'psprobe{os.getpid()}'
    probe = subprocess.run(
        ['ip', 'netns', 'add', name],
        capture_output=True,
        check=False,
    )
    if probe.returncode != 0:
        return f'ip netns add failed: {probe.stderr.decode().strip()}'
    subprocess.run(['ip', 'netns', 'del', name], check=False)
    return None


_SKIP = _skip_reason()
pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(_SKIP is not None, reason=_SKIP or ''),
]


def _run(*args: str) -> None:
    subprocess.run(args, check=True, capture_output=True)


class Network:
    """The namespaces, links, routes and NAT rules of one test."""

    def __init__(self, symmetric: bool) -> None:
        tag = f'{os.getpid() % 100000}'
        self.tag = tag
        self.ns = {n: f'ps{n}{tag}' for n in ('pub', 'ra', 'rb', 'ha', 'hb')}
        self.symmetric = symmetric

    def ex(self, ns: str, *args: str) -> None:
        _run('ip', 'netns', 'exec', self.ns[ns], *args)

    def _link(self, a: str, a_addr: str, b: str, b_addr: str) -> str:
        left, right = f'{a}{b}{self.tag}', f'{b}{a}{self.tag}'
        _run('ip', 'link', 'add', left, 'type', 'veth', 'peer', 'name', right)
        _run('ip', 'link', 'set', left, 'netns', self.ns[a])
        _run('ip', 'link', 'set', right, 'netns', self.ns[b])
        self.ex(a, 'ip', 'addr', 'add', a_addr, 'dev', left)
        self.ex(b, 'ip', 'addr', 'add', b_addr, 'dev', right)
        self.ex(a, 'ip', 'link', 'set', left, 'up')
        self.ex(b, 'ip', 'link', 'set', right, 'up')
        return right

    def create(self) -> None:
        for name in self.ns.values():
            _run('ip', 'netns', 'add', name)
        for ns in self.ns:
            self.ex(ns, 'ip', 'link', 'set', 'lo', 'up')
        self._link('ha', '10.1.0.2/24', 'ra', '10.1.0.1/24')
        self._link('hb', '10.2.0.2/24', 'rb', '10.2.0.1/24')
        out_a = self._link('pub', '198.51.100.1/24', 'ra', '198.51.100.2/24')
        out_b = self._link('pub', '203.0.113.1/24', 'rb', '203.0.113.2/24')
        self.ex('ha', 'ip', 'route', 'add', 'default', 'via', '10.1.0.1')
        self.ex('hb', 'ip', 'route', 'add', 'default', 'via', '10.2.0.1')
        self.ex('ra', 'ip', 'route', 'add', 'default', 'via', '198.51.100.1')
        self.ex('rb', 'ip', 'route', 'add', 'default', 'via', '203.0.113.1')
        for ns in ('pub', 'ra', 'rb'):
            self.ex(ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
        flags = ' random,fully-random' if self.symmetric else ''
        for ns, out in (('ra', out_a), ('rb', out_b)):
            self.ex(ns, 'nft', 'add', 'table', 'ip', 'nat')
            self.ex(
                ns,
                'nft',
                'add chain ip nat post '
                '{ type nat hook postrouting priority 100 ; }',
            )
            self.ex(
                ns,
                'nft',
                f'add rule ip nat post oifname "{out}" masquerade{flags}',
            )
            # Like a home router: drop unsolicited packets from outside.
            # Otherwise an early probe from the peer leaves a conntrack
            # entry that makes the NAT pick another port for the reply.
            self.ex(ns, 'nft', 'add', 'table', 'ip', 'filter')
            self.ex(
                ns,
                'nft',
                'add chain ip filter input '
                '{ type filter hook input priority 0 ; }',
            )
            self.ex(
                ns,
                'nft',
                f'add rule ip filter input iifname "{out}" ct state new '
                'meta l4proto udp drop',
            )

    def delete(self) -> None:
        for name in self.ns.values():
            subprocess.run(
                ['ip', 'netns', 'del', name],
                capture_output=True,
                check=False,
            )

    @contextlib.contextmanager
    def process(
        self,
        ns: str,
        args: list[str],
        log: pathlib.Path,
        env: dict[str, str] | None = None,
    ) -> Iterator[subprocess.Popen[bytes]]:
        with log.open('ab') as out:
            process = subprocess.Popen(
                ['ip', 'netns', 'exec', self.ns[ns], *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
                env={**os.environ, **(env or {})},
            )
        try:
            yield process
        finally:
            stop_process(process)

    def python(
        self,
        ns: str,
        code: str,
        *args: str,
        timeout: float = 60,
    ) -> str:
        result = subprocess.run(
            ['ip', 'netns', 'exec', self.ns[ns], sys.executable, '-c', code]
            + list(args),
            capture_output=True,
            check=False,
            cwd=ROOT,
            timeout=timeout,
        )
        assert result.returncode == 0, result.stderr.decode()
        return result.stdout.decode()


@contextlib.contextmanager
def network(symmetric: bool) -> Iterator[Network]:
    net = Network(symmetric)
    try:
        net.create()
        yield net
    finally:
        net.delete()


_WAIT_PORT = (
    'import socket, sys, time\n'
    'deadline = time.monotonic() + 30\n'
    'while True:\n'
    '    s = socket.socket()\n'
    '    if s.connect_ex((sys.argv[1], int(sys.argv[2]))) == 0: break\n'
    '    assert time.monotonic() < deadline, "timed out"\n'
    '    time.sleep(0.1)\n'
)

_PUT = (
    'import sys\n'
    'from proxystore.endpoint import client\n'
    'client.put(sys.argv[1], "key", bytes(range(256)) * 4096)\n'
)

_GET = (
    'import hashlib, sys\n'
    'from proxystore.endpoint import client\n'
    'data = client.get(sys.argv[1], "key", endpoint=sys.argv[2])\n'
    'print(hashlib.sha256(data).hexdigest())\n'
)


def _endpoint_config(home: pathlib.Path, name: str) -> pathlib.Path:
    config = EndpointConfig(
        name=name,
        uuid=str(uuid.uuid4()),
        port=8765,
        host='127.0.0.1',
        host_type='static',
        relay=EndpointRelayConfig(
            address=f'ws://{RELAY}:8700',
            ice_servers=[{'urls': f'stun:{RELAY}:3478'}],
            check_nat=True,
        ),
    )
    directory = home / name
    write_config(config, str(directory))
    return directory


@pytest.mark.parametrize(
    ('symmetric', 'path', 'nat_type'),
    [
        (False, 'webrtc-hole-punched', 'Port Restricted-cone NAT'),
        (True, 'relayed', 'Symmetric NAT'),
    ],
    ids=['endpoint-independent-nat', 'symmetric-nat'],
)
def test_peering_across_nats(
    tmp_path: pathlib.Path,
    symmetric: bool,
    path: str,
    nat_type: str,
) -> None:
    env = {
        'PROXYSTORE_STUN_SERVERS': STUN_SERVERS,
        # Behind symmetric NATs ICE cannot succeed: give up on it soon.
        # Hole punching gets the default time (it may need retries).
        'PROXYSTORE_ICE_TIMEOUT': '3' if symmetric else '10',
        'PYTHONPATH': str(ROOT),
    }
    dir_a = _endpoint_config(tmp_path, 'a')
    dir_b = _endpoint_config(tmp_path, 'b')
    uuid_a = (dir_a / 'config.toml').read_text().split('uuid = "')[1][:36]
    with (
        network(symmetric) as net,
        net.process(
            'pub',
            [
                sys.executable,
                '-m',
                'proxystore.p2p.relay.run',
                '--host',
                RELAY,
                '--port',
                '8700',
                '--allow-public-without-auth',
            ],
            tmp_path / 'relay.log',
        ),
        net.process(
            'pub',
            [
                sys.executable,
                '-m',
                'tests.p2p.helpers',
                *STUN_SERVERS.split(','),
            ],
            tmp_path / 'stun.log',
            env,
        ),
    ):
        net.python('pub', _WAIT_PORT, RELAY, '8700')
        with (
            net.process(
                'ha',
                [sys.executable, '-c', SERVE_SCRIPT, str(dir_a)],
                tmp_path / 'a.out',
                env,
            ),
            net.process(
                'hb',
                [sys.executable, '-c', SERVE_SCRIPT, str(dir_b)],
                tmp_path / 'b.out',
                env,
            ),
        ):
            net.python('ha', _WAIT_PORT, '127.0.0.1', '8765')
            net.python('hb', _WAIT_PORT, '127.0.0.1', '8765')
            net.python('ha', _PUT, 'http://127.0.0.1:8765')
            digest = net.python('hb', _GET, 'http://127.0.0.1:8765', uuid_a)
            expected = hashlib.sha256(bytes(range(256)) * 4096).hexdigest()
            assert digest.strip() == expected
            deadline = time.monotonic() + 10
            while 'NAT Type' not in (dir_b / 'log.txt').read_text():
                assert time.monotonic() < deadline
                time.sleep(0.1)
    log_a = (dir_a / 'log.txt').read_text()
    log_b = (dir_b / 'log.txt').read_text()
    assert f'(path: {path})' in log_b, log_b
    assert f'(path: {path})' in log_a, log_a
    assert f'NAT Type:       {nat_type}' in log_b
