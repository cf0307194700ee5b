"""Endpoint management behind the `proxystore-endpoint` CLI.

The upstream-named functions (`configure_endpoint`, `list_endpoints`,
`remove_endpoint`, `start_endpoint`, `stop_endpoint`) log their outcome
and return 0 (success) or 1 (failure), as upstream ProxyStore's do.
`start_endpoint(detach=True)` turns the calling process into the endpoint
daemon (the caller's process exits at once, as upstream).

The helpers under other names raise `EndpointCommandError` instead and
return objects, for tools and tests: `new_endpoint_config`,
`launch_endpoint` (start a detached endpoint and return once it answers;
the CLI's `start` uses it), `terminate_endpoint`, `delete_endpoint`,
`list_endpoint_infos`, `load_config` and `running_pid`.

PID files: a PID file is trusted only if the process it names started
before the file was written (psutil's process start time against the
file's modification time), so a PID reused by an unrelated process after
the endpoint died is never signalled.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import errno
import logging
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid as uuid_module
from collections.abc import Iterator
from typing import Any

import daemon
import daemon.pidfile
import psutil
import pydantic

from proxystore.endpoint.client import is_healthy
from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import EndpointRelayAuthConfig
from proxystore.endpoint.config import EndpointRelayConfig
from proxystore.endpoint.config import EndpointStorageConfig
from proxystore.endpoint.config import get_configs
from proxystore.endpoint.config import get_database_filepath
from proxystore.endpoint.config import get_log_filepath
from proxystore.endpoint.config import get_pid_filepath
from proxystore.endpoint.config import is_loopback
from proxystore.endpoint.config import read_config
from proxystore.endpoint.config import validate_name
from proxystore.endpoint.config import write_config
from proxystore.endpoint.session import EndpointSession
from proxystore.endpoint.storage import DEFAULT_MAX_OBJECT_SIZE
from proxystore.p2p.relay.secret import new_endpoint_secret
from proxystore.p2p.relay.secret import uuid_for_secret
from proxystore.utils import environment
from proxystore.utils.environment import home_dir

logger = logging.getLogger(__name__)

PID_TIME_TOLERANCE = 2.0
"""Seconds a process may seem to have started after its PID file was
written (process start times are only known to about a second)."""

STOP_TIMEOUT = 10.0
"""Seconds `stop` waits after SIGTERM before it sends SIGKILL."""

_DAEMON_APPEAR_TIMEOUT = 10.0
"""Seconds after the launcher exits for the daemon's PID file to appear."""

START_TIMEOUT = 30.0
"""Seconds `launch_endpoint` waits for a detached endpoint to answer."""


def __getattr__(name: str) -> Any:
    # `serve` imports the web stack; load it only when an endpoint starts.
    # (A module global so that `proxystore.endpoint.commands.serve` can be
    # patched, as with upstream.)
    if name == 'serve':
        from proxystore.endpoint.serve import serve

        return serve
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')


def _serve() -> Any:
    return globals().get('serve') or __getattr__('serve')


class EndpointCommandError(Exception):
    """A management command cannot be carried out (message says why)."""


class EndpointStatus(enum.Enum):
    """Status of an endpoint (see `get_status`)."""

    RUNNING = enum.auto()
    """The PID file names a live process that wrote it."""
    STOPPED = enum.auto()
    """The endpoint is configured and has no PID file."""
    UNKNOWN = enum.auto()
    """The endpoint's folder or config is missing or invalid."""
    HANGING = enum.auto()
    """A PID file exists but its process is gone (or is another one)."""


@dataclasses.dataclass(frozen=True)
class EndpointInfo:
    """One row of `list_endpoint_infos()`."""

    name: str
    status: EndpointStatus
    uuid: str
    address: str


def _base_dir(proxystore_dir: str | None) -> str:
    return proxystore_dir if proxystore_dir is not None else home_dir()


def _endpoint_dir(name: str, proxystore_dir: str | None) -> str:
    if not validate_name(name):
        raise EndpointCommandError(
            f'Invalid endpoint name {name!r}: names must only contain '
            'alphanumeric characters, dashes, and underscores.',
        )
    return os.path.join(_base_dir(proxystore_dir), name)


def _missing_message(name: str) -> str:
    return (
        f'A valid endpoint named {name} does not exist.\n'
        'Use `list` to see available endpoints.'
    )


def _log_error(error: Exception) -> None:
    for line in str(error).splitlines():
        logger.error(line)


def load_config(
    name: str,
    proxystore_dir: str | None = None,
) -> EndpointConfig:
    """Read the config of endpoint `name`.

    Raises:
        EndpointCommandError: If the endpoint is not configured or its
            config is invalid.
    """
    endpoint_dir = _endpoint_dir(name, proxystore_dir)
    try:
        return read_config(endpoint_dir)
    except FileNotFoundError:
        raise EndpointCommandError(_missing_message(name)) from None
    except ValueError as e:
        raise EndpointCommandError(str(e)) from None


# PID files


def _read_pid(pid_file: str) -> int | None:
    try:
        with open(pid_file) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _reap(pid: int) -> None:
    # A child of ours that exited stays a zombie until reaped.
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _process(pid_file: str) -> psutil.Process | None:
    """Return the live process that wrote `pid_file`, or `None`.

    The process must exist (`psutil.pid_exists`), not be a zombie, and
    have started before the file was last written: a PID reused by a
    later process does not match.
    """
    pid = _read_pid(pid_file)
    if pid is None or pid <= 0:
        return None
    _reap(pid)
    if not psutil.pid_exists(pid):
        return None
    try:
        written = os.stat(pid_file).st_mtime
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE:
            return None
        if process.create_time() > written + PID_TIME_TOLERANCE:
            return None
    except (OSError, psutil.Error):
        return None
    return process


def running_pid(endpoint_dir: str) -> int | None:
    """Return the PID of the endpoint in `endpoint_dir` if it is running.

    A PID file whose process is gone (or is not the one that wrote it)
    is removed.
    """
    pid_file = get_pid_filepath(endpoint_dir)
    process = _process(pid_file)
    if process is not None:
        return process.pid
    with contextlib.suppress(FileNotFoundError):
        os.remove(pid_file)
    return None


def get_status(name: str, proxystore_dir: str | None = None) -> EndpointStatus:
    """Return the status of endpoint `name`.

    UNKNOWN if its folder or config is missing or invalid (an invalid
    config is logged), STOPPED without a PID file, RUNNING if the PID file
    names the live process that wrote it, HANGING otherwise.
    """
    if not validate_name(name):
        return EndpointStatus.UNKNOWN
    endpoint_dir = os.path.join(_base_dir(proxystore_dir), name)
    if not os.path.isdir(endpoint_dir):
        return EndpointStatus.UNKNOWN
    try:
        read_config(endpoint_dir)
    except (FileNotFoundError, ValueError) as e:
        logger.error(str(e))
        return EndpointStatus.UNKNOWN
    pid_file = get_pid_filepath(endpoint_dir)
    if not os.path.exists(pid_file):
        return EndpointStatus.STOPPED
    if _process(pid_file) is not None:
        return EndpointStatus.RUNNING
    return EndpointStatus.HANGING


def _status(name: str, proxystore_dir: str | None) -> EndpointStatus:
    status: EndpointStatus = get_status(name, proxystore_dir)
    return status


@contextlib.contextmanager
def _pid_file(endpoint_dir: str, name: str) -> Iterator[None]:
    """Hold the endpoint's PID file; refuse if another process holds it."""
    path = get_pid_filepath(endpoint_dir)
    running_pid(endpoint_dir)  # clears a stale file
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        other = _read_pid(path)
        raise EndpointCommandError(
            f'Endpoint {name} is already running (PID {other}).',
        ) from None
    with os.fdopen(fd, 'w') as f:
        f.write(f'{os.getpid()}\n')
    try:
        yield
    finally:
        if _read_pid(path) == os.getpid():
            os.remove(path)


# configure


def new_endpoint_config(
    name: str,
    *,
    port: int | None = None,
    host: str | None = None,
    host_type: str = 'ip',
    relay_address: str | None = None,
    relay_auth: bool = False,
    peer_channels: int = 1,
    persist: bool = False,
    database_path: str | None = None,
    max_object_size: int | None = DEFAULT_MAX_OBJECT_SIZE,
    token: str | None = None,
    auth: bool = True,
    certfile: str | None = None,
    keyfile: str | None = None,
    proxystore_dir: str | None = None,
) -> EndpointConfig:
    """Create and save the config of a new endpoint.

    Args:
        name: Endpoint name (letters, digits, `_` or `-`).
        port: TCP port to listen on (`None` for a random one in
            10240-20480).
        host: Static address to listen on (sets `host_type='static'`), or
            `None` to let `start` find it from `host_type`.
        host_type: With `host=None`: `'ip'`, `'fqdn'` or `'hostname'`.
        relay_address: Relay server used for peering (`ws://`/`wss://`).
        relay_auth: Authenticate with the relay through Globus.
        peer_channels: Data channels per peer connection.
        persist: Keep blobs in an SQLite database in the endpoint's folder
            so they survive restarts.
        database_path: Explicit database path (implies `persist`).
        max_object_size: Largest blob in bytes (`None` for no limit).
        token: Bearer token clients must send. With `auth` and no token, a
            random token is generated.
        auth: Require a token. `False` creates an endpoint without one; on
            an address other than loopback it is then served only with a
            warning (`allow_unauthenticated`).
        certfile: TLS certificate to serve HTTPS with.
        keyfile: Private key of `certfile`.
        proxystore_dir: Folder holding endpoint folders (default: the
            ProxyStore home directory).

    Raises:
        EndpointCommandError: If an option is invalid or an endpoint with
            this name exists.
    """
    endpoint_dir = _endpoint_dir(name, proxystore_dir)
    if os.path.exists(endpoint_dir):
        raise EndpointCommandError(
            f'An endpoint named {name} already exists.\n'
            'To reconfigure the endpoint, remove and try again.',
        )
    if persist and database_path is None:
        database_path = get_database_filepath(endpoint_dir)
    if auth and token is None:
        token = new_endpoint_secret()
    unauthenticated = not auth and token is None
    # With a relay, the UUID is the one the relay secret proves, so no
    # other client can ever hold it at the relay (not even first).
    relay_secret = None if relay_address is None else new_endpoint_secret()
    endpoint_uuid = (
        uuid_module.uuid4()
        if relay_secret is None
        else uuid_for_secret(relay_secret)
    )
    try:
        config = EndpointConfig(
            name=name,
            uuid=str(endpoint_uuid),
            port=random.randint(10240, 20480) if port is None else port,
            host=host,
            host_type='static' if host is not None else host_type,  # type: ignore[arg-type]
            token=token,
            allow_unauthenticated=unauthenticated
            and (host is None or not is_loopback(host)),
            certfile=certfile,
            keyfile=keyfile,
            relay=EndpointRelayConfig(
                address=relay_address,
                secret=relay_secret,
                auth=EndpointRelayAuthConfig(
                    method='globus' if relay_auth else None,
                ),
                peer_channels=peer_channels,
            ),
            storage=EndpointStorageConfig(
                database_path=database_path,
                max_object_size=max_object_size,
            ),
        )
    except pydantic.ValidationError as e:
        problems = '; '.join(
            f'{".".join(map(str, err["loc"]))}: {err["msg"]}'
            for err in e.errors()
        )
        raise EndpointCommandError(
            f'Invalid endpoint configuration: {problems}',
        ) from None
    try:
        write_config(config, endpoint_dir)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.rmdir(endpoint_dir)
        raise EndpointCommandError(
            f'Cannot write the config of endpoint {name}: {e}',
        ) from None
    if config.allow_unauthenticated:
        logger.warning(
            'Endpoint %s has no token: anyone who can reach its port can '
            'read and write its objects.',
            name,
        )
    return config


def configure_endpoint(
    name: str,
    *,
    port: int | None,
    relay_server: str | None,
    host: str = 'ip',
    peer_channels: int = 1,
    persist_data: bool = False,
    proxystore_dir: str | None = None,
    relay_auth: bool = True,
    token: str | None = None,
    auth: bool = True,
    max_object_size: int | None = DEFAULT_MAX_OBJECT_SIZE,
    certfile: str | None = None,
    keyfile: str | None = None,
) -> int:
    """Configure a new endpoint (upstream semantics: logs, returns 0 or 1).

    Args:
        name: Endpoint name.
        port: TCP port (`None` for a random one in 10240-20480).
        relay_server: Relay server address, or `None` for no peering.
        host: `'ip'`, `'fqdn'` (case-insensitive), or a static address.
        peer_channels: Data channels per peer connection.
        persist_data: Keep blobs in `blobs.db` across restarts.
        proxystore_dir: Folder holding endpoint folders.
        relay_auth: Authenticate with the relay through Globus.
        token: Bearer token (default: a random one; see `auth`).
        auth: Require a token (see `new_endpoint_config`).
        max_object_size: Largest blob in bytes (`None` for no limit).
        certfile: TLS certificate to serve HTTPS with.
        keyfile: Private key of `certfile`.

    Returns:
        0 on success, 1 on failure (logged).
    """
    choice = host.strip()
    static = None if choice.lower() in ('ip', 'fqdn') else choice
    try:
        config = new_endpoint_config(
            name,
            port=port,
            host=static,
            host_type=choice.lower() if static is None else 'static',
            relay_address=relay_server,
            relay_auth=relay_auth,
            peer_channels=peer_channels,
            persist=persist_data,
            max_object_size=max_object_size,
            token=token,
            auth=auth,
            certfile=certfile,
            keyfile=keyfile,
            proxystore_dir=proxystore_dir,
        )
    except EndpointCommandError as e:
        _log_error(e)
        return 1
    endpoint_dir = os.path.join(_base_dir(proxystore_dir), name)
    logger.info(f'Configured endpoint: {config.name} <{config.uuid}>')
    logger.info(f'Config and log file directory: {endpoint_dir}')
    logger.info('Start the endpoint with:')
    logger.info(f'  $ proxystore-endpoint start {config.name}')
    return 0


# list


def list_endpoint_infos(
    proxystore_dir: str | None = None,
) -> list[EndpointInfo]:
    """Return name, status, UUID and address of every configured endpoint."""
    return [
        EndpointInfo(
            name=config.name,
            status=_status(config.name, proxystore_dir),
            uuid=config.uuid,
            address=config.local_url(),
        )
        for config in get_configs(_base_dir(proxystore_dir))
    ]


def list_endpoints(*, proxystore_dir: str | None = None) -> int:
    """Log a table of the configured endpoints (upstream format).

    Returns:
        0.
    """
    base = _base_dir(proxystore_dir)
    infos = list_endpoint_infos(proxystore_dir)
    if not infos:
        logger.info(f'No valid endpoint configurations in {base}.')
        return 0
    width = max(18, *(len(info.name) for info in infos))
    simple = {'simple': True}
    logger.info(f'{"NAME":<{width}} {"STATUS":<7} UUID', extra=simple)
    logger.info('=' * (2 + width + 7 + 36), extra=simple)
    for info in infos:
        logger.info(
            f'{info.name[:width]:<{width}} {info.status.name:<7} {info.uuid}',
            extra=simple,
        )
    return 0


# remove


def delete_endpoint(name: str, *, proxystore_dir: str | None = None) -> None:
    """Delete endpoint `name`'s folder (config, log, database).

    Raises:
        EndpointCommandError: If it does not exist or is still running.
    """
    endpoint_dir = _endpoint_dir(name, proxystore_dir)
    if not os.path.isdir(endpoint_dir):
        raise EndpointCommandError(f'An endpoint named {name} does not exist.')
    status = _status(name, proxystore_dir)
    if status in (EndpointStatus.RUNNING, EndpointStatus.HANGING):
        raise EndpointCommandError(
            'Endpoint must be stopped before removing.\n'
            f'  $ proxystore-endpoint stop {name}',
        )
    shutil.rmtree(endpoint_dir)


def remove_endpoint(name: str, *, proxystore_dir: str | None = None) -> int:
    """Remove a stopped endpoint (upstream semantics: returns 0 or 1)."""
    try:
        delete_endpoint(name, proxystore_dir=proxystore_dir)
    except EndpointCommandError as e:
        _log_error(e)
        return 1
    logger.info(f'Removed endpoint named {name}.')
    return 0


# start


def resolve_host(config: EndpointConfig) -> str:
    """Return the address endpoint `config` listens on when started.

    Raises:
        EndpointCommandError: If a static config has no host.
    """
    if config.host_type == 'fqdn':
        return socket.getfqdn()
    if config.host_type == 'ip':
        return socket.gethostbyname(environment.hostname())
    if config.host_type == 'hostname':
        return environment.hostname()
    if config.host is None:
        raise EndpointCommandError(
            'Missing static host address in config.\n'
            'Set `host` in the config.toml of the endpoint, or reconfigure '
            'it with `--host ADDRESS`.',
        )
    return config.host


def _check_port_free(host: str, port: int, name: str) -> None:
    family = socket.AF_INET6 if ':' in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host.strip('[]'), port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise EndpointCommandError(
                    f'Port {port} of endpoint {name} is already in use.',
                ) from None
            raise EndpointCommandError(
                f'Endpoint {name} cannot listen on {host}:{port}: {e}',
            ) from None


def _check_tls_files(config: EndpointConfig) -> None:
    if config.certfile is None:
        return
    try:
        ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(
            config.certfile,
            config.keyfile,
        )
    except (OSError, ssl.SSLError) as e:
        files = ' and '.join(
            path for path in (config.certfile, config.keyfile) if path
        )
        reason = e.strerror or str(e)
        raise EndpointCommandError(
            f'Cannot load the TLS certificate of endpoint {config.name} '
            f'from {files}: {reason}.',
        ) from None


def prepare_start(
    name: str,
    proxystore_dir: str | None = None,
) -> tuple[EndpointConfig, str]:
    """Check endpoint `name` can start here; update its config.

    Resolves the host and writes it to the config, clears a stale PID file
    left on this host, generates a token for an endpoint that would
    otherwise listen without one on a non-loopback address, and checks the
    port is free.

    Returns:
        The updated config and the endpoint's folder.

    Raises:
        EndpointCommandError: If the endpoint is running, not configured,
            left a PID file on another host, or cannot listen.
    """
    status = _status(name, proxystore_dir)
    if status is EndpointStatus.RUNNING:
        raise EndpointCommandError(f'Endpoint {name} is already running.')
    if status is EndpointStatus.UNKNOWN:
        raise EndpointCommandError(_missing_message(name))
    endpoint_dir = _endpoint_dir(name, proxystore_dir)
    config: EndpointConfig = read_config(endpoint_dir)
    host = resolve_host(config)
    pid_file = get_pid_filepath(endpoint_dir)
    if status is EndpointStatus.HANGING:
        if config.host is not None and config.host != host:
            raise EndpointCommandError(
                'A PID file exists for the endpoint, but the config '
                'indicates the endpoint is running on a host named '
                f'{config.host}. If the endpoint is not running there, '
                f'delete the PID file at {pid_file} and try again.',
            )
        with contextlib.suppress(FileNotFoundError):
            os.remove(pid_file)
    updates: dict[str, Any] = {'host': host}
    if config.relay.address is not None and config.relay.secret is None:
        updates['relay'] = config.relay.model_copy(
            update={'secret': new_endpoint_secret()},
        )
    if (
        config.token is None
        and not config.allow_unauthenticated
        and not is_loopback(host)
    ):
        updates['token'] = new_endpoint_secret()
        logger.info(
            f'Endpoint {name} listens on {host}: generated an access token '
            f'(stored in {endpoint_dir}/config.toml, which clients on this '
            'host read).',
        )
    config = config.model_copy(update=updates)
    write_config(config, endpoint_dir)
    _check_port_free(host, config.port, name)
    _check_tls_files(config)
    return config, endpoint_dir


def start_endpoint(
    name: str,
    *,
    detach: bool = False,
    log_level: str = 'INFO',
    proxystore_dir: str | None = None,
) -> int:
    """Start endpoint `name` (upstream semantics: returns 0 or 1).

    In the foreground (default) this blocks until the endpoint is stopped
    (SIGINT or SIGTERM). With `detach=True` the calling process becomes the
    endpoint daemon (`daemon.DaemonContext`): the caller's process exits at
    once and the daemon serves in the background, logging to `log.txt`.
    `launch_endpoint` instead starts a daemon and returns once it answers.

    Returns:
        0 once the endpoint has stopped, 1 on failure (logged).
    """
    try:
        config, endpoint_dir = prepare_start(name, proxystore_dir)
    except EndpointCommandError as e:
        _log_error(e)
        return 1
    log_file = get_log_filepath(endpoint_dir)
    pid_file = get_pid_filepath(endpoint_dir)
    serve = _serve()
    # Our polling loop, even if uvloop is installed: uvloop blocks at
    # once and answered small requests about 1.5x slower (measured).
    options = {
        'log_level': log_level,
        'log_file': log_file,
        'use_uvloop': False,
    }
    try:
        if detach:
            logger.info('Starting endpoint process as daemon.')
            logger.info(f'Logs will be written to {log_file}')
            context = daemon.DaemonContext(
                working_directory=endpoint_dir,
                umask=0o077,
                pidfile=daemon.pidfile.PIDLockFile(pid_file),
                detach_process=True,
            )
            with context:
                serve(config, **options)
        else:
            with _pid_file(endpoint_dir, name):
                serve(config, **options)
    except EndpointCommandError as e:
        _log_error(e)
        return 1
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            logger.error(
                f'Port {config.port} of endpoint {name} is already in use.',
            )
        else:
            logger.error(f'Endpoint {name} failed: {e}')
        return 1
    except ValueError as e:
        _log_error(e)
        return 1
    return 0


def _finished(log_file: str, start: int) -> bool:
    """Whether the log says, after offset `start`, that serving ended."""
    try:
        with open(log_file, 'rb') as f:
            f.seek(start)
            return b'Finished serving endpoint' in f.read()
    except OSError:
        return False


def _log_tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, 'rb') as f:
            f.seek(max(0, os.path.getsize(path) - 64 * 1024))
            tail = f.read().decode(errors='replace')
    except OSError:
        return ''
    return ''.join(tail.splitlines(keepends=True)[-lines:])


def _answers(config: EndpointConfig) -> bool:
    session = EndpointSession(
        config.local_url(),
        timeout=1.0,
        ssl_context=config.client_ssl_context(),
    )
    with session:
        return is_healthy(config.local_url(), session=session)


def launch_endpoint(
    name: str,
    *,
    proxystore_dir: str | None = None,
    log_level: str = 'INFO',
    timeout: float = START_TIMEOUT,
) -> EndpointConfig:
    """Start endpoint `name` as a daemon and wait until it answers.

    The daemon is started by running `proxystore-endpoint start NAME
    --detach --no-wait` (so by `start_endpoint(detach=True)`) in a new
    session; it logs to the endpoint's `log.txt`.

    Returns:
        The endpoint's config (with its host filled in).

    Raises:
        EndpointCommandError: If the endpoint cannot start (the message
            includes the end of its log) or does not answer within
            `timeout` seconds.
    """
    config, endpoint_dir = prepare_start(name, proxystore_dir)
    log_file = get_log_filepath(endpoint_dir)
    pid_file = get_pid_filepath(endpoint_dir)
    command = [sys.executable, '-m', 'proxystore.endpoint.cli']
    if proxystore_dir is not None:
        command += ['--proxystore-dir', proxystore_dir]
    command += ['--log-level', log_level, 'start', name, '--no-wait']
    with open(log_file, 'ab') as log:
        os.chmod(log_file, 0o600)
        log_start = log.tell()
        launcher = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    seen: psutil.Process | None = None
    exited_at: float | None = None
    while time.monotonic() < deadline:
        process = _process(pid_file)
        if process is not None:
            seen = process
            if _answers(config):
                launcher.wait()
                return config
        elif (seen is not None and not seen.is_running()) or _finished(
            log_file,
            log_start,
        ):
            break  # the daemon died
        if exited_at is None and launcher.poll() is not None:
            exited_at = time.monotonic()
            if launcher.returncode != 0:
                break
        if (
            exited_at is not None
            and seen is None
            and time.monotonic() - exited_at > _DAEMON_APPEAR_TIMEOUT
        ):
            break
        time.sleep(0.02)
    else:
        if seen is not None:
            with contextlib.suppress(psutil.Error):
                seen.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            launcher.wait(timeout=1)
        raise EndpointCommandError(
            f'Endpoint {name} did not answer within {timeout} s. Log '
            f'{log_file}:\n{_log_tail(log_file)}',
        )
    with contextlib.suppress(subprocess.TimeoutExpired):
        launcher.wait(timeout=1)
    raise EndpointCommandError(
        f'Endpoint {name} failed to start. Log {log_file}:\n'
        f'{_log_tail(log_file)}',
    )


# stop


def _terminate(process: psutil.Process, timeout: float) -> None:
    """SIGTERM `process` and its descendants; SIGKILL what survives."""
    try:
        family = [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    for member in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(family, timeout=timeout)
    for member in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    psutil.wait_procs(alive, timeout=timeout)
    for member in family:
        _reap(member.pid)


def terminate_endpoint(
    name: str,
    *,
    proxystore_dir: str | None = None,
    timeout: float = STOP_TIMEOUT,
) -> bool:
    """Stop endpoint `name` (SIGTERM, then SIGKILL after `timeout`).

    Only the process that wrote the PID file is signalled (with its
    children); a stale PID file is removed.

    Returns:
        `True` if a running endpoint was stopped, `False` if it was not
        running.

    Raises:
        EndpointCommandError: If the endpoint is not configured, or a PID
            file names a process on another host.
    """
    status = _status(name, proxystore_dir)
    if status is EndpointStatus.UNKNOWN:
        raise EndpointCommandError(_missing_message(name))
    if status is EndpointStatus.STOPPED:
        return False
    endpoint_dir = _endpoint_dir(name, proxystore_dir)
    pid_file = get_pid_filepath(endpoint_dir)
    process = _process(pid_file)
    if process is None:
        config: EndpointConfig = read_config(endpoint_dir)
        if config.host is not None and config.host != resolve_host(config):
            raise EndpointCommandError(
                'A PID file exists for the endpoint, but the config '
                'indicates the endpoint is running on a host named '
                f'{config.host}. If the endpoint is not running there, '
                f'delete the PID file at {pid_file} and try again.',
            )
        with contextlib.suppress(FileNotFoundError):
            os.remove(pid_file)
        return False
    logger.debug(f'Terminating endpoint process (PID: {process.pid}).')
    _terminate(process, timeout)
    with contextlib.suppress(FileNotFoundError):
        os.remove(pid_file)
    return True


def stop_endpoint(name: str, *, proxystore_dir: str | None = None) -> int:
    """Stop endpoint `name` (upstream semantics: returns 0 or 1)."""
    try:
        stopped = terminate_endpoint(name, proxystore_dir=proxystore_dir)
    except EndpointCommandError as e:
        _log_error(e)
        return 1
    if stopped:
        logger.info(f'Endpoint {name} has been stopped.')
    else:
        logger.info(f'Endpoint {name} is not running.')
    return 0
