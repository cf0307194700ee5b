"""Endpoint configuration files.

Each endpoint has a folder `<proxystore_dir>/<name>/` holding its
`config.toml`, its PID file while it runs, its log, and (for persistent
endpoints) its blob database. `proxystore_dir` defaults to the ProxyStore
home directory (`$PROXYSTORE_HOME`, else `$XDG_DATA_HOME/proxystore`, else
`~/.local/share/proxystore`).
"""

from __future__ import annotations

import os
import re
import socket
import sys
from typing import Literal

import pydantic
import tomli_w

from proxystore.endpoint.keys import validate_uuid
from proxystore.endpoint.storage import DEFAULT_MAX_OBJECT_SIZE
from proxystore.utils.environment import home_dir

if sys.version_info >= (3, 11):  # pragma: >=3.11 cover
    import tomllib
else:  # pragma: <3.11 cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

CONFIG_FILENAME = 'config.toml'
PID_FILENAME = 'endpoint.pid'
LOG_FILENAME = 'endpoint.log'
DATABASE_FILENAME = 'blobs.db'

_NAME_PATTERN = re.compile(r'[A-Za-z0-9_-]{1,64}')
_TOKEN_PATTERN = re.compile(r'[\x21-\x7e]{1,256}')


class EndpointStorageConfig(pydantic.BaseModel):
    """Where an endpoint keeps its blobs.

    Attributes:
        database_path: SQLite database file that persists blobs across
            restarts, or `None` to keep blobs in the endpoint's memory.
        max_object_size: Largest blob in bytes the endpoint accepts
            (`None` for no limit).
    """

    model_config = pydantic.ConfigDict(extra='forbid')

    database_path: str | None = None
    max_object_size: int | None = pydantic.Field(
        default=DEFAULT_MAX_OBJECT_SIZE,
        gt=0,
    )


class EndpointRelayConfig(pydantic.BaseModel):
    """How an endpoint finds its peers.

    Attributes:
        address: Address of the relay server (e.g. `ws://host:8700` or
            `http://host:8700`), or `None` to disable peering.
    """

    model_config = pydantic.ConfigDict(extra='forbid')

    address: str | None = None


class EndpointConfig(pydantic.BaseModel):
    """Configuration of one endpoint.

    Attributes:
        name: Endpoint name (letters, digits, `_` and `-`; at most 64).
        uuid: Endpoint UUID.
        port: TCP port the endpoint listens on.
        host: Address to listen on and advertise. `None` listens on all
            interfaces and advertises the address chosen by `host_type`.
        host_type: How to find the advertised address when `host` is
            `None`: `'ip'`, `'fqdn'`, or `'hostname'`.
        token: Bearer token clients must send; `None` disables auth.
        relay: Peering configuration.
        storage: Blob storage configuration.
    """

    model_config = pydantic.ConfigDict(extra='forbid')

    name: str
    uuid: str
    port: int = pydantic.Field(ge=1, le=65535)
    host: str | None = None
    host_type: Literal['ip', 'fqdn', 'hostname'] = 'ip'
    token: str | None = None
    relay: EndpointRelayConfig = pydantic.Field(
        default_factory=EndpointRelayConfig,
    )
    storage: EndpointStorageConfig = pydantic.Field(
        default_factory=EndpointStorageConfig,
    )

    @pydantic.field_validator('name')
    @classmethod
    def _check_name(cls, name: str) -> str:
        if not validate_name(name):
            raise ValueError(
                f'Invalid endpoint name {name!r}: use 1-64 letters, digits, '
                'underscores or hyphens.',
            )
        return name

    @pydantic.field_validator('token')
    @classmethod
    def _check_token(cls, token: str | None) -> str | None:
        if token is not None and not validate_token(token):
            raise ValueError(
                'Invalid token: use 1-256 printable ASCII characters '
                'without spaces.',
            )
        return token

    @pydantic.field_validator('uuid')
    @classmethod
    def _check_uuid(cls, value: str) -> str:
        return validate_uuid(value)

    def bind_host(self) -> str:
        """Return the interface address the server listens on."""
        return self.host if self.host is not None else '0.0.0.0'

    def advertised_host(self) -> str:
        """Return the host name/address other machines use to reach us."""
        if self.host is not None and self.host not in ('0.0.0.0', '::'):
            return self.host
        if self.host_type == 'fqdn':
            return socket.getfqdn()
        if self.host_type == 'hostname':
            return socket.gethostname()
        return _primary_ip()

    def local_url(self) -> str:
        """Return the base URL a client on this host uses."""
        host = self.host
        if host is None or host in ('0.0.0.0', '::'):
            host = '127.0.0.1'
        return f'http://{_url_host(host)}:{self.port}'

    def public_url(self) -> str:
        """Return the base URL that peers use (advertised via the relay)."""
        return f'http://{_url_host(self.advertised_host())}:{self.port}'


def _url_host(host: str) -> str:
    return f'[{host}]' if ':' in host else host


def _primary_ip() -> str:
    """Return the IP of the interface used for outbound traffic."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            # UDP connect sends nothing; it only picks a route.
            sock.connect(('10.254.254.254', 1))
            address: str = sock.getsockname()[0]
        except OSError:
            address = '127.0.0.1'
    return address


def validate_token(token: str) -> bool:
    """Check a bearer token is 1-256 printable ASCII characters, no spaces.

    Anything else could not be sent safely in an HTTP header.
    """
    return (
        isinstance(token, str) and _TOKEN_PATTERN.fullmatch(token) is not None
    )


def validate_name(name: str) -> bool:
    """Check an endpoint name is 1-64 letters, digits, `_` or `-`."""
    return isinstance(name, str) and _NAME_PATTERN.fullmatch(name) is not None


def default_proxystore_dir() -> str:
    """Return the directory holding endpoint folders (the home dir)."""
    return home_dir()


def get_endpoint_dir(name: str, proxystore_dir: str | None = None) -> str:
    """Return the folder of the endpoint called `name`.

    Raises:
        ValueError: If `name` is not a valid endpoint name.
    """
    if not validate_name(name):
        raise ValueError(
            f'Invalid endpoint name {name!r}: use 1-64 letters, digits, '
            'underscores or hyphens.',
        )
    base = proxystore_dir or default_proxystore_dir()
    return os.path.join(base, name)


def get_pid_filepath(endpoint_dir: str) -> str:
    """Return the PID file path of the endpoint in `endpoint_dir`."""
    return os.path.join(endpoint_dir, PID_FILENAME)


def get_log_filepath(endpoint_dir: str) -> str:
    """Return the log file path of the endpoint in `endpoint_dir`."""
    return os.path.join(endpoint_dir, LOG_FILENAME)


def get_database_filepath(endpoint_dir: str) -> str:
    """Return the default blob database path for `endpoint_dir`."""
    return os.path.join(endpoint_dir, DATABASE_FILENAME)


def read_config(endpoint_dir: str) -> EndpointConfig:
    """Read the config of the endpoint in `endpoint_dir`.

    Raises:
        FileNotFoundError: If the folder has no config file.
        ValueError: If the config file is not a valid endpoint config.
    """
    path = os.path.join(endpoint_dir, CONFIG_FILENAME)
    with open(path, 'rb') as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f'Malformed endpoint config {path}: {e}') from e
    try:
        return EndpointConfig.model_validate(data)
    except pydantic.ValidationError as e:
        raise ValueError(f'Invalid endpoint config {path}: {e}') from e


def write_config(config: EndpointConfig, endpoint_dir: str) -> None:
    """Write `config` to `endpoint_dir` (created if needed) atomically."""
    os.makedirs(endpoint_dir, exist_ok=True)
    path = os.path.join(endpoint_dir, CONFIG_FILENAME)
    tmp_path = f'{path}.tmp'
    data = config.model_dump(exclude_none=True)
    with open(tmp_path, 'wb') as f:
        tomli_w.dump(data, f)
    os.replace(tmp_path, path)


def get_configs(proxystore_dir: str | None = None) -> list[EndpointConfig]:
    """Return the valid endpoint configs under `proxystore_dir`, by name.

    Folders without a readable config are skipped.
    """
    base = proxystore_dir or default_proxystore_dir()
    if not os.path.isdir(base):
        return []
    configs = []
    for entry in sorted(os.listdir(base)):
        endpoint_dir = os.path.join(base, entry)
        if not os.path.isdir(endpoint_dir):
            continue
        try:
            configs.append(read_config(endpoint_dir))
        except (OSError, ValueError):
            continue
    return configs
