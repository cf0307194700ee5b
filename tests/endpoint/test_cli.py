"""The proxystore-endpoint CLI, driving real detached endpoint processes."""

from __future__ import annotations

import os
import pathlib
import re
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import psutil
import pytest
from click.testing import CliRunner
from click.testing import Result

import proxystore
from proxystore.endpoint import cli as cli_module
from proxystore.endpoint.cli import cli
from proxystore.endpoint.client import is_healthy
from proxystore.endpoint.commands import EndpointCommandError
from proxystore.endpoint.commands import EndpointStatus
from proxystore.endpoint.commands import get_status
from proxystore.endpoint.commands import load_config
from proxystore.endpoint.commands import running_pid
from proxystore.endpoint.commands import start_endpoint
from proxystore.endpoint.commands import terminate_endpoint
from proxystore.endpoint.config import get_endpoint_dir
from proxystore.endpoint.config import get_pid_filepath
from proxystore.endpoint.config import read_config
from proxystore.endpoint.config import write_config
from proxystore.p2p.relay.secret import uuid_for_secret
from tests.fixtures.ports import free_port

_ANSI = re.compile(r'\x1b\[[0-9;]*m')

# As upstream's `configure ep --host 127.0.0.1 --port P --no-relay-server`
# writes it.
UPSTREAM_CONFIG = """\
name = "ep"
uuid = "{uuid}"
port = {port}
host = "127.0.0.1"
host_type = "static"

[relay]
peer_channels = 1
verify_certificate = true

[relay.auth]
method = "globus"

[relay.auth.kwargs]

[storage]
max_object_size = 100000000
"""


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
                    terminate_endpoint(name, proxystore_dir=directory)
                except EndpointCommandError:
                    pass


def run(home: str, *args: str) -> Result:
    """Run the CLI with `$PROXYSTORE_HOME=home`, as a user would."""
    return CliRunner().invoke(
        cli,
        list(args),
        env={'PROXYSTORE_HOME': home},
        catch_exceptions=False,
    )


def text(result: Result) -> str:
    return _ANSI.sub('', result.output)


def configure(home: str, name: str = 'ep', *extra: str) -> int:
    """Configure endpoint `name` on a free loopback port; return the port."""
    port = free_port()
    result = run(
        home,
        'configure',
        name,
        '--host',
        '127.0.0.1',
        '--port',
        str(port),
        '--no-relay-server',
        *extra,
    )
    assert result.exit_code == 0, result.output
    return port


def _row(home: str, name: str) -> list[str]:
    result = run(home, 'list')
    assert result.exit_code == 0
    rows = [line.split() for line in text(result).splitlines()]
    (row,) = [row for row in rows if row and row[0] == name]
    return row


def test_upstream_cli_sequence(home: str) -> None:
    port = configure(home)
    config = load_config('ep', home)
    assert _row(home, 'ep') == ['ep', 'STOPPED', config.uuid]
    endpoint_dir = get_endpoint_dir('ep', home)

    result = run(home, 'start', 'ep')  # detaches by default
    assert result.exit_code == 0, result.output
    assert text(result).splitlines() == [
        'INFO: Starting endpoint process as daemon.',
        f'INFO: Logs will be written to {endpoint_dir}/log.txt',
    ]
    assert '\x1b[0;32mINFO:\x1b[0m' in result.output
    assert _row(home, 'ep') == ['ep', 'RUNNING', config.uuid]
    pid = running_pid(endpoint_dir)
    assert pid is not None and pid != os.getpid()
    assert psutil.Process(pid).ppid() != os.getpid()  # a real daemon
    assert os.path.isfile(os.path.join(endpoint_dir, 'log.txt'))

    result = run(home, 'start', 'ep')
    assert result.exit_code == 1
    assert text(result) == 'ERROR: Endpoint ep is already running.\n'

    result = run(home, 'test', 'ep', 'put', 'hello')
    assert result.exit_code == 0, result.output
    match = re.fullmatch(
        r'INFO: Put object in endpoint with key (\S+)\n',
        text(result),
    )
    assert match is not None
    key = match.group(1)
    uuid.UUID(key, version=4)
    result = run(home, 'test', 'ep', 'exists', key)
    assert text(result) == 'INFO: Object exists: True\n'
    result = run(home, 'test', 'ep', 'get', key)
    assert text(result) == 'INFO: Result: hello\n'
    remote = str(uuid.uuid4())  # unknown peer: solo mode serves locally
    result = run(home, 'test', 'ep', '--remote', remote, 'exists', key)
    assert text(result) == 'INFO: Object exists: True\n'
    result = run(home, 'test', 'ep', 'evict', key)
    assert text(result) == 'INFO: Evicted object from endpoint.\n'
    result = run(home, 'test', 'ep', 'get', key)
    assert text(result) == 'INFO: Object does not exist.\n'
    result = run(home, 'test', 'ep', 'get', '../bad')
    assert result.exit_code == 1
    assert text(result).startswith(
        'ERROR: Endpoint returned HTTP error code 400. Invalid object key',
    )

    result = run(home, 'remove', 'ep')
    assert result.exit_code == 1
    assert text(result).splitlines() == [
        'ERROR: Endpoint must be stopped before removing.',
        'ERROR:   $ proxystore-endpoint stop ep',
    ]
    result = run(home, '--log-level', 'DEBUG', 'stop', 'ep')
    assert result.exit_code == 0
    assert text(result).splitlines() == [
        f'DEBUG: Terminating endpoint process (PID: {pid}).',
        'INFO: Endpoint ep has been stopped.',
    ]
    assert not psutil.pid_exists(pid) or (
        psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    )
    assert _row(home, 'ep') == ['ep', 'STOPPED', config.uuid]
    assert (
        text(run(home, 'stop', 'ep')) == 'INFO: Endpoint ep is not running.\n'
    )
    result = run(home, 'test', 'ep', 'exists', key)
    assert result.exit_code == 1
    assert text(result) == (
        f'ERROR: Unable to connect to endpoint at http://127.0.0.1:{port}.\n'
    )
    result = run(home, 'remove', 'ep')
    assert result.exit_code == 0
    assert text(result) == 'INFO: Removed endpoint named ep.\n'
    assert text(run(home, 'list')) == (
        f'INFO: No valid endpoint configurations in {home}.\n'
    )


def test_upstream_config_file_works_verbatim(home: str) -> None:
    port = free_port()
    endpoint_dir = pathlib.Path(home) / 'ep'
    endpoint_dir.mkdir(parents=True)
    value = str(uuid.uuid4())
    (endpoint_dir / 'config.toml').write_text(
        UPSTREAM_CONFIG.format(uuid=value, port=port),
    )
    assert _row(home, 'ep') == ['ep', 'STOPPED', value]
    assert run(home, 'start', 'ep').exit_code == 0
    result = run(home, 'test', 'ep', 'put', 'data')
    key = text(result).split()[-1]
    assert text(run(home, 'test', 'ep', 'get', key)) == 'INFO: Result: data\n'
    assert run(home, 'stop', 'ep').exit_code == 0
    assert read_config(str(endpoint_dir)).relay.auth.method == 'globus'


def test_configure_output_and_defaults(home: str) -> None:
    result = run(home, 'configure', 'ep', '--port', '12345')
    assert result.exit_code == 0
    config = load_config('ep', home)
    endpoint_dir = get_endpoint_dir('ep', home)
    assert text(result).splitlines() == [
        f'INFO: Configured endpoint: ep <{config.uuid}>',
        f'INFO: Config and log file directory: {endpoint_dir}',
        'INFO: Start the endpoint with:',
        'INFO:   $ proxystore-endpoint start ep',
    ]
    assert config.host is None
    assert config.host_type == 'ip'
    assert config.relay.address == 'wss://relay.proxystore.dev'
    assert config.relay.auth.method == 'globus'
    assert config.storage.database_path is None
    result = run(home, 'configure', 'ep', '--port', '12346')
    assert result.exit_code == 1
    assert text(result).splitlines() == [
        'ERROR: An endpoint named ep already exists.',
        'ERROR: To reconfigure the endpoint, remove and try again.',
    ]
    assert load_config('ep', home).uuid == config.uuid
    run(home, 'configure', 'fq', '--host', ' FQDN ', '--persist')
    fq = load_config('fq', home)
    assert fq.host_type == 'fqdn'
    assert fq.storage.database_path == os.path.join(
        get_endpoint_dir('fq', home),
        'blobs.db',
    )
    run(home, 'configure', 'nr', '--no-relay-server', '--no-relay-auth')
    nr = load_config('nr', home)
    assert nr.relay.address is None
    assert nr.relay.auth.method is None
    assert 10240 <= nr.port <= 20480


def test_configure_is_secure_by_default(home: str) -> None:
    # Found: `configure NAME` listened on 0.0.0.0 with no token, in a
    # world-readable config.
    run(home, 'configure', 'ep', '--port', '12345')
    config = load_config('ep', home)
    assert config.token is not None and len(config.token) >= 32
    assert config.host != '0.0.0.0'
    endpoint_dir = get_endpoint_dir('ep', home)
    assert stat.S_IMODE(os.stat(endpoint_dir).st_mode) == 0o700
    mode = os.stat(os.path.join(endpoint_dir, 'config.toml')).st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_relay_endpoint_uuid_is_proven_by_its_secret(home: str) -> None:
    # With a relay, nobody can hold the endpoint's UUID at the relay first:
    # the UUID is derived from the endpoint's own 0600 relay secret.
    run(
        home,
        'configure',
        'ep',
        '--port',
        '12345',
        '--relay-address',
        'ws://127.0.0.1:1',
    )
    config = load_config('ep', home)
    assert config.relay.secret is not None
    assert config.uuid == str(uuid_for_secret(config.relay.secret))
    run(home, 'configure', 'solo', '--port', '12346', '--no-relay-server')
    assert load_config('solo', home).relay.secret is None


def test_token_is_required_once_configured(home: str) -> None:
    configure(home)
    assert run(home, 'start', 'ep').exit_code == 0
    config = load_config('ep', home)
    from proxystore.endpoint import client

    address = config.local_url()
    with pytest.raises(client.RequestException) as info:
        client.exists(address, 'k')
    assert info.value.response.status_code == 401
    assert client.exists(address, 'k', token=config.token) is False
    assert is_healthy(address)  # `GET /` stays public


def test_no_token_needs_loopback_or_warns(home: str) -> None:
    configure(home, 'ep', '--no-token')
    assert load_config('ep', home).token is None
    assert not load_config('ep', home).allow_unauthenticated
    result = run(home, 'configure', 'wide', '--no-token', '--port', '1234')
    assert result.exit_code == 0
    assert 'WARNING: Endpoint wide has no token' in text(result)
    assert load_config('wide', home).allow_unauthenticated


def test_list_format(home: str) -> None:
    configure(home, 'b')
    configure(home, 'a-much-longer-endpoint-name')
    lines = text(run(home, 'list')).splitlines()
    width = len('a-much-longer-endpoint-name')
    assert lines[0] == f'{"NAME":<{width}} {"STATUS":<7} UUID'
    assert lines[1] == '=' * (2 + width + 7 + 36)
    assert [line.split()[0] for line in lines[2:]] == [
        'a-much-longer-endpoint-name',
        'b',
    ]


@pytest.mark.parametrize('name', ['bad name', '../escape', 'a/b'])
def test_bad_names(home: str, name: str) -> None:
    result = run(home, 'configure', name, '--port', '8000')
    assert result.exit_code == 1
    assert 'alphanumeric characters, dashes, and underscores' in text(result)
    result = run(home, 'start', name)
    assert result.exit_code == 1
    assert f'A valid endpoint named {name} does not exist.' in text(result)
    result = run(home, 'test', name, 'exists', 'k')
    assert text(result) == f'ERROR: An endpoint named {name} does not exist.\n'
    assert not os.path.exists(home) or os.listdir(home) == []


@pytest.mark.parametrize('port', ['0', '70000', '-5'])
def test_bad_ports(home: str, port: str) -> None:
    result = run(home, 'configure', 'ep', '--port', port)
    assert result.exit_code == 1
    assert 'Port must be in range [1, 65535]' in text(result)
    assert 'No valid endpoint configurations' in text(run(home, 'list'))


def test_unknown_names(home: str) -> None:
    for command in ('start', 'stop'):
        result = run(home, command, 'ghost')
        assert result.exit_code == 1
        assert text(result).splitlines() == [
            'ERROR: A valid endpoint named ghost does not exist.',
            'ERROR: Use `list` to see available endpoints.',
        ]
    result = run(home, 'remove', 'ghost')
    assert text(result) == 'ERROR: An endpoint named ghost does not exist.\n'


def test_port_in_use_is_a_clear_error(home: str) -> None:
    with socket.socket() as blocker:
        blocker.bind(('127.0.0.1', 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        run(
            home,
            'configure',
            'ep',
            '--host',
            '127.0.0.1',
            '--port',
            str(port),
            '--no-relay-server',
        )
        result = run(home, 'start', 'ep')
    assert result.exit_code == 1
    assert f'Port {port} of endpoint ep is already in use.' in text(result)
    assert get_status('ep', home) is EndpointStatus.STOPPED


@pytest.mark.parametrize('exists', [True, False])
def test_bad_certificate_is_a_clear_error(
    home: str,
    tmp_path: pathlib.Path,
    exists: bool,
) -> None:
    certfile = tmp_path / 'cert.pem'
    if exists:
        certfile.write_text('garbage')
    configure(home, 'ep', '--certfile', str(certfile))
    result = run(home, 'start', 'ep')
    assert result.exit_code == 1
    assert text(result).startswith(
        f'ERROR: Cannot load the TLS certificate of endpoint ep from '
        f'{certfile}: ',
    )
    assert get_status('ep', home) is EndpointStatus.STOPPED


def test_failed_start_shows_the_log(home: str) -> None:
    configure(home, 'ep')
    endpoint_dir = get_endpoint_dir('ep', home)
    config = read_config(endpoint_dir)
    # A relay setting that fails once serving starts (nothing connects).
    relay = config.relay.model_copy(
        update={
            'address': 'ws://127.0.0.1:9',
            'auth': config.relay.auth.model_copy(update={'method': None}),
            'ice_servers': [{'not_a_field': 1}],
            'check_nat': False,
        },
    )
    write_config(config.model_copy(update={'relay': relay}), endpoint_dir)
    result = run(home, 'start', 'ep')
    assert result.exit_code == 1
    output = text(result)
    assert output.startswith('ERROR: Endpoint ep failed to start. Log ')
    assert 'not_a_field' in output
    assert get_status('ep', home) is EndpointStatus.STOPPED


def test_status_values(home: str) -> None:
    assert get_status('ghost', home) is EndpointStatus.UNKNOWN
    configure(home)
    assert get_status('ep', home) is EndpointStatus.STOPPED
    pid_file = get_pid_filepath(get_endpoint_dir('ep', home))
    with open(pid_file, 'w') as f:
        f.write('not a pid')
    assert get_status('ep', home) is EndpointStatus.HANGING
    broken = pathlib.Path(home) / 'broken'
    broken.mkdir()
    (broken / 'config.toml').write_text('port = 1')
    assert get_status('broken', home) is EndpointStatus.UNKNOWN


def test_stale_pid_file_is_cleared_on_start(home: str) -> None:
    configure(home)
    endpoint_dir = get_endpoint_dir('ep', home)
    dead = subprocess.Popen([sys.executable, '-c', 'pass'])
    dead.wait()
    with open(get_pid_filepath(endpoint_dir), 'w') as f:
        f.write(str(dead.pid))
    assert get_status('ep', home) is EndpointStatus.HANGING
    assert run(home, 'start', 'ep').exit_code == 0
    assert get_status('ep', home) is EndpointStatus.RUNNING
    assert terminate_endpoint('ep', proxystore_dir=home)


def test_stop_never_signals_a_process_that_reused_the_pid(home: str) -> None:
    # Found: `stop` with a stale PID file signalled whatever process had
    # since been given that PID.
    configure(home)
    endpoint_dir = get_endpoint_dir('ep', home)
    bystander = subprocess.Popen(['sleep', '60'])
    try:
        long_ago = time.time() - 3600  # the file predates the process
        for name in ('daemon.pid', 'endpoint.pid'):
            path = os.path.join(endpoint_dir, name)
            with open(path, 'w') as f:
                f.write(str(bystander.pid))
            os.utime(path, (long_ago, long_ago))
        assert get_status('ep', home) is EndpointStatus.HANGING
        result = run(home, 'stop', 'ep')
        assert result.exit_code == 0
        assert text(result) == 'INFO: Endpoint ep is not running.\n'
        assert bystander.poll() is None  # untouched
        assert not os.path.exists(get_pid_filepath(endpoint_dir))
    finally:
        bystander.kill()
        bystander.wait()


def test_pid_file_from_another_host_is_kept(home: str) -> None:
    configure(home)
    endpoint_dir = get_endpoint_dir('ep', home)
    config = read_config(endpoint_dir)
    write_config(
        config.model_copy(update={'host_type': 'ip', 'host': '192.0.2.7'}),
        endpoint_dir,
    )
    pid_file = get_pid_filepath(endpoint_dir)
    with open(pid_file, 'w') as f:
        f.write('999999999')
    assert start_endpoint('ep', proxystore_dir=home) == 1
    result = run(home, 'start', 'ep')
    assert 'running on a host named 192.0.2.7' in text(result)
    assert os.path.exists(pid_file)


_FAKE_UVLOOP = """
import asyncio, pathlib
def new_event_loop():
    pathlib.Path(__file__).with_name('uvloop-used').touch()
    return asyncio.new_event_loop()
"""


def test_foreground_start_stops_on_sigterm(home: str) -> None:
    configure(home)
    # An importable uvloop: `start` must still run our polling loop
    # (uvloop answered small requests ~1.5x slower).
    fake = pathlib.Path(home).parent / 'fake-uvloop'
    fake.mkdir()
    (fake / 'uvloop.py').write_text(_FAKE_UVLOOP)
    path = os.pathsep.join(
        filter(None, [str(fake), os.environ.get('PYTHONPATH')])
    )
    process = subprocess.Popen(
        [sys.executable, '-m', 'proxystore.endpoint.cli']
        + ['start', 'ep', '--no-detach'],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, 'PROXYSTORE_HOME': home, 'PYTHONPATH': path},
    )
    try:
        config = load_config('ep', home)
        for _ in range(600):
            if is_healthy(config.local_url()):
                break
            assert process.poll() is None
            time.sleep(0.05)
        endpoint_dir = get_endpoint_dir('ep', home)
        assert running_pid(endpoint_dir) == process.pid
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
        assert get_status('ep', home) is EndpointStatus.STOPPED
        with open(os.path.join(endpoint_dir, 'log.txt')) as f:
            assert 'Finished serving endpoint: ep' in f.read()
        assert not (fake / 'uvloop-used').exists()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_help_version_and_usage(home: str) -> None:
    result = run(home, 'version')
    assert result.output == f'ProxyStore v{proxystore.__version__}\n'
    result = run(home, 'help')
    assert result.exit_code == 0
    for command in ('check-nat', 'configure', 'list', 'start', 'test'):
        assert command in result.output
    assert run(home).exit_code == 2


def test_check_nat_command(
    home: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The NAT check itself queries public STUN servers: record the call.
    calls = []
    monkeypatch.setattr(
        cli_module,
        'check_nat_and_log',
        lambda host, port: calls.append((host, port)),
    )
    assert run(home, 'check-nat').exit_code == 0
    assert run(home, 'check-nat', '--host', '127.0.0.1', '--port', '0')
    assert calls == [('0.0.0.0', 54320), ('127.0.0.1', 0)]


def test_check_nat_runs_the_real_check(
    home: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # No STUN servers configured: the real check runs and fails cleanly.
    monkeypatch.setenv('PROXYSTORE_STUN_SERVERS', '')
    result = run(home, 'check-nat', '--port', '0')
    assert result.exit_code == 0
    assert text(result).splitlines() == [
        'INFO: Checking NAT type. This may take a moment...',
        'ERROR: Failed to determine NAT type: No STUN servers returned a '
        'valid response.',
    ]


def test_console_script_installed() -> None:
    import importlib.metadata

    (script,) = importlib.metadata.entry_points(
        group='console_scripts',
        name='proxystore-endpoint',
    )
    assert script.load() is cli
    # Run through this interpreter: the venv's bin need not be on PATH.
    result = subprocess.run(
        [sys.executable, '-m', 'proxystore.endpoint.cli', '--help'],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0
    for command in ('configure', 'start', 'stop', 'list', 'remove', 'test'):
        assert command in result.stdout
