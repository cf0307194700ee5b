"""Relay and endpoint processes on loopback, for peering tests and benchmarks.

Each endpoint gets its own ProxyStore directory (`home/name/name`), so a
client given that directory knows only that endpoint.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from typing import Any

from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import EndpointRelayConfig
from proxystore.endpoint.config import write_config
from tests.fixtures.ports import free_port
from tests.fixtures.processes import stop_process

SERVE_SCRIPT = (
    # python -c SERVE_SCRIPT ENDPOINT_DIR: serve that endpoint, log to
    # ENDPOINT_DIR/log.txt.
    'import sys\n'
    'from proxystore.endpoint.config import read_config\n'
    'from proxystore.endpoint.serve import serve\n'
    'serve(read_config(sys.argv[1]), use_uvloop=False,\n'
    '      log_file=sys.argv[1] + "/log.txt")\n'
)


def wait_for(predicate: Any, timeout: float = 30) -> None:
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
        wait_for(lambda: _listening(port) or process.poll() is not None)
        assert process.poll() is None, (tmp_path / 'relay.log').read_text()
        yield f'ws://127.0.0.1:{port}'


@contextlib.contextmanager
def endpoint_processes(
    home: pathlib.Path,
    relay: str,
    endpoints: dict[str, dict[str, Any]],
) -> Iterator[dict[str, EndpointConfig]]:
    """Configure and serve several endpoints at once; yield their configs.

    Each endpoint `name` gets its own proxystore dir (`home/name`). The
    value of `endpoints[name]` holds more `EndpointConfig` fields (e.g.
    `storage`) and, under `'env'`, extra environment variables.
    """
    configs: dict[str, EndpointConfig] = {}
    with contextlib.ExitStack() as stack:
        processes = {}
        for name, options in endpoints.items():
            options = dict(options)
            env = {'PROXYSTORE_STUN_SERVERS': '', **options.pop('env', {})}
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
                **options,
            )
            directory = home / name / name
            write_config(config, str(directory))
            configs[name] = config
            processes[name] = stack.enter_context(
                _process(
                    [sys.executable, '-c', SERVE_SCRIPT, str(directory)],
                    home / f'{name}.out',
                    env,
                ),
            )
        for name, process in processes.items():
            port = configs[name].port
            wait_for(
                lambda p=process, port=port: (
                    _healthy(port) or p.poll() is not None
                ),
            )
            assert process.poll() is None, (home / f'{name}.out').read_text()
        yield configs
