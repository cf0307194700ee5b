"""The proxystore-endpoint CLI, driving real detached endpoint processes."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest
from click.testing import CliRunner
from click.testing import Result

import proxystore
from proxystore.endpoint.cli import cli
from proxystore.endpoint.commands import EndpointCommandError
from proxystore.endpoint.commands import EndpointStatus
from proxystore.endpoint.commands import get_status
from proxystore.endpoint.commands import load_config
from proxystore.endpoint.commands import running_pid
from proxystore.endpoint.commands import start_endpoint
from proxystore.endpoint.commands import stop_endpoint
from proxystore.endpoint.config import get_endpoint_dir
from proxystore.endpoint.config import get_pid_filepath
from tests.fixtures.ports import free_port


@pytest.fixture
def home(tmp_path: pathlib.Path) -> Iterator[str]:
    directory = str(tmp_path / 'home')
    try:
        yield directory
    finally:
        # Never leave an endpoint running, whatever the test did.
        if os.path.isdir(directory):
            for name in os.listdir(directory):
                try:
                    stop_endpoint(name, proxystore_dir=directory)
                except EndpointCommandError:
                    pass


def run(home: str, *args: str) -> Result:
    return CliRunner().invoke(
        cli,
        ['--proxystore-dir', home, *args],
        catch_exceptions=False,
    )


def configure_on_free_port(home: str, name: str = 'ep') -> int:
    """Configure endpoint `name` on a free loopback port; return the port."""
    port = free_port()
    result = run(
        home, 'configure', name, '--host', '127.0.0.1', '--port', str(port)
    )
    assert result.exit_code == 0, result.output
    return port


def _status_line(home: str, name: str) -> str:
    result = run(home, 'list')
    assert result.exit_code == 0
    lines = [
        line for line in result.output.splitlines() if line.split()[0] == name
    ]
    assert len(lines) == 1
    return lines[0]


def test_lifecycle(home: str) -> None:
    port = configure_on_free_port(home)
    config = load_config('ep', home)
    assert 'STOPPED' in _status_line(home, 'ep')

    result = run(home, 'start', 'ep', '--detach')
    assert result.exit_code == 0, result.output
    line = _status_line(home, 'ep')
    assert 'RUNNING' in line
    assert config.uuid in line
    assert f'http://127.0.0.1:{port}' in line

    result = run(home, 'start', 'ep', '--detach')
    assert result.exit_code != 0
    assert 'already running' in result.output
    assert 'RUNNING' in _status_line(home, 'ep')

    assert run(home, 'test', 'ep', 'set', 'greeting', 'hello').exit_code == 0
    assert (
        run(home, 'test', 'ep', 'exists', 'greeting').output.strip() == 'True'
    )
    assert run(home, 'test', 'ep', 'get', 'greeting').output.strip() == 'hello'
    assert run(home, 'test', 'ep', 'evict', 'greeting').exit_code == 0
    result = run(home, 'test', 'ep', 'get', 'greeting')
    assert result.exit_code != 0
    assert 'No object' in result.output
    result = run(home, 'test', 'ep', 'get', '../bad')
    assert result.exit_code != 0
    assert 'Invalid object key' in result.output

    result = run(home, 'remove', 'ep', '--yes')
    assert result.exit_code != 0
    assert 'stop it before removing' in result.output

    result = run(home, 'stop', 'ep')
    assert result.exit_code == 0
    assert 'Stopped' in result.output
    assert 'STOPPED' in _status_line(home, 'ep')
    assert not os.path.exists(get_pid_filepath(get_endpoint_dir('ep', home)))
    assert 'not running' in run(home, 'stop', 'ep').output

    assert run(home, 'remove', 'ep', '--yes').exit_code == 0
    assert 'No endpoints configured' in run(home, 'list').output


@pytest.mark.parametrize('name', ['bad name', '../escape', 'a/b', 'x' * 65])
def test_bad_names(home: str, name: str) -> None:
    result = run(home, 'configure', name, '--port', '8000')
    assert result.exit_code != 0
    assert 'Invalid endpoint name' in result.output
    for command in ('start', 'stop', 'remove'):
        result = run(home, command, name)
        assert result.exit_code != 0
        assert 'Invalid endpoint name' in result.output
    assert not os.path.exists(home) or os.listdir(home) == []


@pytest.mark.parametrize('port', ['0', '70000', '-5'])
def test_bad_ports(home: str, port: str) -> None:
    result = run(home, 'configure', 'ep', '--port', port)
    assert result.exit_code != 0
    assert 'Invalid endpoint configuration: port' in result.output
    assert 'No endpoints configured' in run(home, 'list').output


def test_unknown_and_duplicate_names(home: str) -> None:
    for command in ('start', 'stop', 'remove'):
        result = run(home, command, 'ghost')
        assert result.exit_code != 0
        assert (
            'not configured' in result.output
            or 'does not exist' in result.output
        )
    assert run(home, 'configure', 'ep', '--port', '8000').exit_code == 0
    uuid = load_config('ep', home).uuid
    result = run(home, 'configure', 'ep', '--port', '8001')
    assert result.exit_code != 0
    assert 'already exists' in result.output
    assert load_config('ep', home).uuid == uuid


def test_port_in_use_is_a_clear_error(home: str) -> None:
    import socket

    with socket.socket() as blocker:
        blocker.bind(('127.0.0.1', 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        run(
            home, 'configure', 'ep', '--host', '127.0.0.1', '--port', str(port)
        )
        result = run(home, 'start', 'ep', '--detach')
    assert result.exit_code != 0
    assert 'already in use' in result.output
    assert get_status('ep', home) is EndpointStatus.STOPPED


def test_stale_pid_file_is_ignored(home: str) -> None:
    configure_on_free_port(home)
    endpoint_dir = get_endpoint_dir('ep', home)
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    with open(get_pid_filepath(endpoint_dir), 'w') as f:
        f.write(str(dead.pid))
    assert get_status('ep', home) is EndpointStatus.STOPPED
    start_endpoint('ep', detach=True, proxystore_dir=home)
    assert get_status('ep', home) is EndpointStatus.RUNNING
    assert stop_endpoint('ep', proxystore_dir=home)


def test_foreground_start_stops_on_sigterm(home: str) -> None:
    configure_on_free_port(home)
    process = subprocess.Popen(
        [
            sys.executable,
            '-m',
            'proxystore.endpoint.cli',
            '--proxystore-dir',
            home,
            'start',
            'ep',
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        from proxystore.endpoint.client import is_healthy

        config = load_config('ep', home)
        for _ in range(600):
            if is_healthy(config.local_url()):
                break
            assert process.poll() is None
            import time

            time.sleep(0.05)
        assert running_pid(get_endpoint_dir('ep', home)) == process.pid
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert get_status('ep', home) is EndpointStatus.STOPPED
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_version(home: str) -> None:
    result = run(home, 'version')
    assert result.exit_code == 0
    assert proxystore.__version__ in result.output


def test_console_script_installed() -> None:
    result = subprocess.run(
        ['proxystore-endpoint', '--help'],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    for command in ('configure', 'start', 'stop', 'list', 'remove', 'test'):
        assert command in result.stdout


def test_bad_token_and_host_type(home: str) -> None:
    result = run(home, 'configure', 'ep', '--token', 'two words')
    assert result.exit_code != 0
    assert 'Invalid token' in result.output
    result = run(home, 'configure', 'ep', '--host-type', 'nope')
    assert result.exit_code != 0
    assert 'No endpoints configured' in run(home, 'list').output
    result = run(home, 'configure', 'ep', '--host-type', 'fqdn', '--persist')
    assert result.exit_code == 0
    config = load_config('ep', home)
    assert config.host_type == 'fqdn'
    assert config.storage.database_path is not None
    assert config.storage.database_path.startswith(home)
