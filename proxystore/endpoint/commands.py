"""Endpoint management behind the `proxystore-endpoint` CLI.

Tests and other tools call these functions directly so they exercise the
same code paths as the CLI: `configure_endpoint`, `start_endpoint` (in the
foreground, or `detach=True` to launch a background process and wait until
it answers), `stop_endpoint`, `list_endpoints`, and `remove_endpoint`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid as uuid_module
from collections.abc import Iterator

import pydantic

from proxystore.endpoint.client import is_healthy
from proxystore.endpoint.config import EndpointConfig
from proxystore.endpoint.config import EndpointRelayConfig
from proxystore.endpoint.config import EndpointStorageConfig
from proxystore.endpoint.config import get_configs
from proxystore.endpoint.config import get_database_filepath
from proxystore.endpoint.config import get_endpoint_dir
from proxystore.endpoint.config import get_log_filepath
from proxystore.endpoint.config import get_pid_filepath
from proxystore.endpoint.config import read_config
from proxystore.endpoint.config import write_config
from proxystore.endpoint.storage import DEFAULT_MAX_OBJECT_SIZE


class EndpointCommandError(Exception):
    """A management command cannot be carried out (message says why)."""


class EndpointStatus(enum.Enum):
    """Whether an endpoint's process is running."""

    RUNNING = 'RUNNING'
    STOPPED = 'STOPPED'


@dataclasses.dataclass(frozen=True)
class EndpointInfo:
    """One row of `list_endpoints()`."""

    name: str
    status: EndpointStatus
    uuid: str
    address: str


def _endpoint_dir(name: str, proxystore_dir: str | None) -> str:
    try:
        return get_endpoint_dir(name, proxystore_dir)
    except ValueError as e:
        raise EndpointCommandError(str(e)) from None


def load_config(
    name: str, proxystore_dir: str | None = None
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
        raise EndpointCommandError(
            f'Endpoint {name!r} is not configured '
            f'(no config in {endpoint_dir}).',
        ) from None
    except ValueError as e:
        raise EndpointCommandError(str(e)) from None


def configure_endpoint(
    name: str,
    *,
    port: int,
    host: str | None = None,
    host_type: str = 'ip',
    relay_address: str | None = None,
    persist: bool = False,
    database_path: str | None = None,
    max_object_size: int | None = DEFAULT_MAX_OBJECT_SIZE,
    token: str | None = None,
    proxystore_dir: str | None = None,
) -> EndpointConfig:
    """Create and save the config of a new endpoint.

    Args:
        name: Endpoint name (1-64 letters, digits, `_` or `-`).
        port: TCP port to listen on.
        host: Address to listen on (`None` = all interfaces).
        host_type: With `host=None`, how peers reach this endpoint:
            `'ip'`, `'fqdn'` or `'hostname'`.
        relay_address: Relay server used for peering.
        persist: Keep blobs in an SQLite database in the endpoint's folder
            so they survive restarts.
        database_path: Explicit database path (implies `persist`).
        max_object_size: Largest blob in bytes (`None` for no limit).
        token: Bearer token clients must send (`None` = no auth).
        proxystore_dir: Folder holding endpoint folders (default: the
            ProxyStore home directory).

    Raises:
        EndpointCommandError: If the name or port is invalid or an endpoint
            with this name exists.
    """
    endpoint_dir = _endpoint_dir(name, proxystore_dir)
    if os.path.exists(endpoint_dir):
        raise EndpointCommandError(
            f'Endpoint {name!r} already exists at {endpoint_dir}. '
            'Remove it first or choose another name.',
        )
    if persist and database_path is None:
        database_path = get_database_filepath(endpoint_dir)
    try:
        config = EndpointConfig(
            name=name,
            uuid=str(uuid_module.uuid4()),
            port=port,
            host=host,
            host_type=host_type,  # type: ignore[arg-type]
            token=token,
            relay=EndpointRelayConfig(address=relay_address),
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
    write_config(config, endpoint_dir)
    return config


def _pid_alive(pid: int) -> bool:
    # Reap our own exited children first: a zombie still answers kill(0).
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_pid(endpoint_dir: str) -> int | None:
    try:
        with open(get_pid_filepath(endpoint_dir)) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def running_pid(endpoint_dir: str) -> int | None:
    """Return the PID of the endpoint in `endpoint_dir` if it is running.

    A PID file left by a process that died is removed.
    """
    pid = _read_pid(endpoint_dir)
    if pid is None:
        return None
    if _pid_alive(pid):
        return pid
    with contextlib.suppress(FileNotFoundError):
        os.remove(get_pid_filepath(endpoint_dir))
    return None


def get_status(name: str, proxystore_dir: str | None = None) -> EndpointStatus:
    """Return whether endpoint `name` is running."""
    endpoint_dir = _endpoint_dir(name, proxystore_dir)
    if running_pid(endpoint_dir) is None:
        return EndpointStatus.STOPPED
    return EndpointStatus.RUNNING


def list_endpoints(proxystore_dir: str | None = None) -> list[EndpointInfo]:
    """Return name, status, UUID and address of every configured endpoint."""
    infos = []
    for config in get_configs(proxystore_dir):
        infos.append(
            EndpointInfo(
                name=config.name,
                status=get_status(config.name, proxystore_dir),
                uuid=config.uuid,
                address=config.local_url(),
            ),
        )
    return infos


@contextlib.contextmanager
def _pid_file(endpoint_dir: str, name: str) -> Iterator[None]:
    """Hold the endpoint's PID file; refuse if another process holds it."""
    path = get_pid_filepath(endpoint_dir)
    running_pid(endpoint_dir)  # clears a stale file
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        other = _read_pid(endpoint_dir)
        raise EndpointCommandError(
            f'Endpoint {name!r} is already running (PID {other}).',
        ) from None
    with os.fdopen(fd, 'w') as f:
        f.write(str(os.getpid()))
    try:
        yield
    finally:
        if _read_pid(endpoint_dir) == os.getpid():
            os.remove(path)


def _log_tail(path: str, lines: int = 15) -> str:
    try:
        with open(path, errors='replace') as f:
            return ''.join(f.readlines()[-lines:])
    except OSError:
        return ''


def start_endpoint(
    name: str,
    *,
    detach: bool = False,
    proxystore_dir: str | None = None,
    log_level: str = 'INFO',
    timeout: float = 30.0,
) -> None:
    """Start endpoint `name`.

    In the foreground this blocks until the endpoint is stopped (SIGINT or
    SIGTERM). With `detach=True` it launches the endpoint as a background
    process (`python -m proxystore.endpoint.cli ... start NAME`) logging to
    the endpoint's log file, and returns once the endpoint answers HTTP.

    Raises:
        EndpointCommandError: If the endpoint is not configured, is already
            running, or fails to come up (e.g. its port is taken).
    """
    config = load_config(name, proxystore_dir)
    endpoint_dir = _endpoint_dir(name, proxystore_dir)
    pid = running_pid(endpoint_dir)
    if pid is not None:
        raise EndpointCommandError(
            f'Endpoint {name!r} is already running (PID {pid}).',
        )
    if not detach:
        from proxystore.endpoint.serve import serve

        with _pid_file(endpoint_dir, name):
            try:
                serve(config, log_level=log_level)
            except OSError as e:
                if e.errno == errno.EADDRINUSE:
                    raise EndpointCommandError(
                        f'Port {config.port} of endpoint {name!r} is '
                        'already in use.',
                    ) from None
                raise
        return
    _start_detached(config, endpoint_dir, proxystore_dir, log_level, timeout)


def _start_detached(
    config: EndpointConfig,
    endpoint_dir: str,
    proxystore_dir: str | None,
    log_level: str,
    timeout: float,
) -> None:
    command = [sys.executable, '-m', 'proxystore.endpoint.cli']
    if proxystore_dir is not None:
        command += ['--proxystore-dir', proxystore_dir]
    command += ['start', config.name, '--log-level', log_level]
    log_path = get_log_filepath(endpoint_dir)
    with open(log_path, 'ab') as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EndpointCommandError(
                f'Endpoint {config.name!r} exited during startup '
                f'(code {process.returncode}). Log {log_path}:\n'
                f'{_log_tail(log_path)}',
            )
        if _read_pid(endpoint_dir) == process.pid and is_healthy(
            config.local_url(),
        ):
            return
        time.sleep(0.05)
    process.kill()
    process.wait()
    raise EndpointCommandError(
        f'Endpoint {config.name!r} did not answer within {timeout}s. '
        f'Log {log_path}:\n{_log_tail(log_path)}',
    )


def stop_endpoint(
    name: str,
    *,
    proxystore_dir: str | None = None,
    timeout: float = 10.0,
) -> bool:
    """Stop endpoint `name` (SIGTERM, then SIGKILL after `timeout`).

    Returns:
        `True` if a running endpoint was stopped, `False` if it was not
        running.

    Raises:
        EndpointCommandError: If the endpoint is not configured.
    """
    load_config(name, proxystore_dir)
    endpoint_dir = _endpoint_dir(name, proxystore_dir)
    pid = running_pid(endpoint_dir)
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _pid_alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = float('inf')
        time.sleep(0.02)
    with contextlib.suppress(FileNotFoundError):
        os.remove(get_pid_filepath(endpoint_dir))
    return True


def remove_endpoint(name: str, *, proxystore_dir: str | None = None) -> None:
    """Delete endpoint `name`'s folder (config, log, database).

    Raises:
        EndpointCommandError: If it is not configured or still running.
    """
    endpoint_dir = _endpoint_dir(name, proxystore_dir)
    if not os.path.isdir(endpoint_dir):
        raise EndpointCommandError(f'Endpoint {name!r} does not exist.')
    if running_pid(endpoint_dir) is not None:
        raise EndpointCommandError(
            f'Endpoint {name!r} is running; stop it before removing it.',
        )
    shutil.rmtree(endpoint_dir)
