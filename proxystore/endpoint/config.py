"""Endpoint configuration files.

Each endpoint has a folder `<proxystore_dir>/<name>/` holding its
`config.toml`, its PID file (`daemon.pid`) while it runs, its log
(`log.txt`), and (for persistent endpoints) its blob database
(`blobs.db`). `proxystore_dir` defaults to the ProxyStore home directory
(`$PROXYSTORE_HOME`, else `$XDG_DATA_HOME/proxystore`, else
`~/.local/share/proxystore`).

`config.toml` files written by upstream ProxyStore are read as they are:
reading is strict about types (`port = "8765"` is refused) and ignores
unknown keys except inside `[relay.auth]`. Beyond upstream, a config may
hold a bearer `token` (required from clients), a `certfile`/`keyfile` pair
(the server then speaks HTTPS) and `allow_unauthenticated` (serve without
a token on a non-loopback interface). Because the file may hold a secret,
it is written with mode 0600 in a folder with mode 0700.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import re
import socket
import ssl
import sys
import uuid as uuid_module
from typing import Any
from typing import Literal

import pydantic
import tomli_w

from proxystore.endpoint.constants import MAX_OBJECT_SIZE_DEFAULT
from proxystore.utils.environment import home_dir

if sys.version_info >= (3, 11):  # pragma: >=3.11 cover
    import tomllib
else:  # pragma: <3.11 cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

ENDPOINT_CONFIG_FILE = 'config.toml'
"""Name of an endpoint's config file."""
ENDPOINT_DATABASE_FILE = 'blobs.db'
"""Name of a persistent endpoint's blob database."""
ENDPOINT_LOG_FILE = 'log.txt'
"""Name of an endpoint's log file."""
ENDPOINT_PID_FILE = 'daemon.pid'
"""Name of a running endpoint's PID file."""

CONFIG_FILENAME = ENDPOINT_CONFIG_FILE
"""Alias of `ENDPOINT_CONFIG_FILE`."""
DATABASE_FILENAME = ENDPOINT_DATABASE_FILE
"""Alias of `ENDPOINT_DATABASE_FILE`."""
LOG_FILENAME = ENDPOINT_LOG_FILE
"""Alias of `ENDPOINT_LOG_FILE`."""
PID_FILENAME = ENDPOINT_PID_FILE
"""Alias of `ENDPOINT_PID_FILE`."""

DIRECTORY_MODE = 0o700
"""Mode of endpoint folders (and of the home folder when we create it)."""
SECRET_FILE_MODE = 0o600
"""Mode of config files (they may hold the endpoint's token)."""

_NAME_PATTERN = re.compile(r'[A-Za-z0-9_-]+')
_TOKEN_PATTERN = re.compile(r'[\x21-\x7e]{1,256}')
_LOOPBACK_NAMES = frozenset({'localhost', 'localhost.localdomain'})


class EndpointRelayAuthConfig(pydantic.BaseModel):
    """How an endpoint authenticates with its relay server.

    Attributes:
        method: `'globus'` or `None` for no authentication.
        kwargs: Options for the method.
    """

    model_config = pydantic.ConfigDict(extra='forbid')

    method: Literal['globus'] | None = None
    kwargs: dict[str, Any] = pydantic.Field(default_factory=dict)


class EndpointRelayConfig(pydantic.BaseModel):
    """How an endpoint finds and talks to its peers.

    Attributes:
        address: Address of the relay server (`ws://` or `wss://`), or
            `None` to disable peering.
        auth: Authentication with the relay server.
        peer_channels: Data channels per peer connection.
        verify_certificate: Verify the relay server's TLS certificate.
        ice_servers: ICE (STUN/TURN) servers for peer connections
            (`None` for the WebRTC library's defaults, `[]` for none).
        check_nat: Log this host's NAT type (queries public STUN servers)
            when the endpoint starts.
        secret: Secret proving to the relay that this endpoint owns its
            UUID (sent in the websocket handshake; kept in the 0600
            config).
    """

    model_config = pydantic.ConfigDict(extra='ignore')

    address: str | None = None
    auth: EndpointRelayAuthConfig = pydantic.Field(
        default_factory=EndpointRelayAuthConfig,
    )
    peer_channels: int = pydantic.Field(default=1, ge=1)
    verify_certificate: bool = True
    ice_servers: list[dict[str, Any]] | None = None
    check_nat: bool = True
    secret: str | None = None

    @pydantic.field_validator('address')
    @classmethod
    def _check_address(cls, address: str | None) -> str | None:
        if address is not None and not address.startswith(
            ('ws://', 'wss://'),
        ):
            raise ValueError('Server must start with ws:// or wss://.')
        return address


class EndpointStorageConfig(pydantic.BaseModel):
    """Where an endpoint keeps its blobs.

    Attributes:
        database_path: SQLite database file that persists blobs across
            restarts, or `None` to keep blobs in the endpoint's memory.
        max_object_size: Largest blob in bytes the endpoint accepts
            (`None` for no limit).
    """

    model_config = pydantic.ConfigDict(extra='ignore')

    database_path: str | None = None
    max_object_size: int | None = MAX_OBJECT_SIZE_DEFAULT

    @pydantic.field_validator('max_object_size')
    @classmethod
    def _check_size(cls, size: int | None) -> int | None:
        if size is not None and size < 1:
            raise ValueError(
                'Max object size must be None or greater than zero.',
            )
        return size


class EndpointConfig(pydantic.BaseModel):
    """Configuration of one endpoint.

    Attributes:
        name: Endpoint name (letters, digits, `_` and `-`).
        uuid: Endpoint UUID.
        port: TCP port the endpoint listens on.
        host: Address the endpoint listens on and clients connect to. For
            `host_type` `'ip'` and `'fqdn'`, `start` fills it in; for
            `'static'` the user sets it.
        host_type: How `start` finds `host`: `'ip'` (this host's IP),
            `'fqdn'` (its fully qualified name), `'static'` (keep `host`),
            or `'hostname'` (its short name).
        relay: Peering configuration.
        storage: Blob storage configuration.
        token: Bearer token clients must send (`None` disables auth).
        allow_unauthenticated: Serve without a token even on a
            non-loopback interface (logged as a warning).
        certfile: TLS certificate (PEM) to serve HTTPS with.
        keyfile: Private key of `certfile` (`None` if in `certfile`).
    """

    model_config = pydantic.ConfigDict(extra='ignore')

    name: str
    uuid: str
    port: int
    host: str | None = None
    host_type: Literal['fqdn', 'ip', 'static', 'hostname'] = 'ip'
    relay: EndpointRelayConfig = pydantic.Field(
        default_factory=EndpointRelayConfig,
    )
    storage: EndpointStorageConfig = pydantic.Field(
        default_factory=EndpointStorageConfig,
    )
    token: str | None = None
    allow_unauthenticated: bool = False
    certfile: str | None = None
    keyfile: str | None = None

    @pydantic.field_validator('name')
    @classmethod
    def _check_name(cls, name: str) -> str:
        if not validate_name(name):
            raise ValueError(
                'Name must only contain alphanumeric characters, dashes, '
                'and underscores.',
            )
        return name

    @pydantic.field_validator('uuid')
    @classmethod
    def _check_uuid(cls, value: str) -> str:
        try:
            uuid_module.UUID(value, version=4)
        except (TypeError, ValueError, AttributeError):
            raise ValueError(
                f'"{value}" is not a valid UUID4 string.'
            ) from None
        return value

    @pydantic.field_validator('port')
    @classmethod
    def _check_port(cls, port: int) -> int:
        if not 1 <= port <= 65535:
            raise ValueError('Port must be in range [1, 65535].')
        return port

    @pydantic.field_validator('token')
    @classmethod
    def _check_token(cls, token: str | None) -> str | None:
        if token is not None and not validate_token(token):
            raise ValueError(
                'Invalid token: use 1-256 printable ASCII characters '
                'without spaces.',
            )
        return token

    def bind_host(self) -> str:
        """Return the interface address the server listens on.

        Raises:
            ValueError: If `host` is not set (the endpoint was never
                started and has no static host).
        """
        if self.host is None:
            raise ValueError('EndpointConfig has NoneType as host.')
        return self.host

    def scheme(self) -> str:
        """Return `'https'` if the endpoint serves TLS, else `'http'`."""
        return 'https' if self.certfile is not None else 'http'

    def local_url(self) -> str:
        """Return the base URL a client on this host uses.

        An endpoint listening on all interfaces is reached on loopback.
        """
        host = self.host
        if host is None or host in ('0.0.0.0', '::', ''):
            host = '127.0.0.1'
        return f'{self.scheme()}://{url_host(host)}:{self.port}'

    def client_ssl_context(self) -> ssl.SSLContext | None:
        """Return the TLS context clients on this host use, or `None`.

        The context trusts exactly the endpoint's own certificate (the
        client read it from the same config), so it does not check the
        host name.
        """
        if self.certfile is None:
            return None
        context = ssl.create_default_context(cafile=self.certfile)
        context.check_hostname = False
        # Trust the endpoint's own (leaf) certificate as an anchor.
        context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
        return context

    def address(self) -> str:
        """Return `http://{host}:{port}` as upstream's clients build it."""
        return f'{self.scheme()}://{url_host(str(self.host))}:{self.port}'


def url_host(host: str) -> str:
    """Return `host` as it appears in a URL (IPv6 addresses bracketed)."""
    return f'[{host}]' if ':' in host and not host.startswith('[') else host


def is_loopback(host: str) -> bool:
    """Return whether `host` names only this machine's loopback interface.

    All-interface addresses (`0.0.0.0`, `::`) and unresolvable names are
    not loopback.
    """
    host = host.strip('[]').lower()
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(
        ipaddress.ip_address(str(info[4][0]).split('%')[0]).is_loopback
        for info in infos
    )


def validate_token(token: str) -> bool:
    """Check a bearer token is 1-256 printable ASCII characters, no spaces.

    Anything else could not be sent safely in an HTTP header.
    """
    return (
        isinstance(token, str) and _TOKEN_PATTERN.fullmatch(token) is not None
    )


def validate_name(name: str) -> bool:
    """Check an endpoint name is non-empty letters, digits, `_` or `-`."""
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
            f'Invalid endpoint name {name!r}: names must only contain '
            'alphanumeric characters, dashes, and underscores.',
        )
    base = proxystore_dir or default_proxystore_dir()
    return os.path.join(base, name)


def get_config_filepath(endpoint_dir: str) -> str:
    """Return the config file path of the endpoint in `endpoint_dir`."""
    return os.path.join(endpoint_dir, ENDPOINT_CONFIG_FILE)


def get_pid_filepath(endpoint_dir: str) -> str:
    """Return the PID file path of the endpoint in `endpoint_dir`."""
    return os.path.join(endpoint_dir, ENDPOINT_PID_FILE)


def get_log_filepath(endpoint_dir: str) -> str:
    """Return the log file path of the endpoint in `endpoint_dir`."""
    return os.path.join(endpoint_dir, ENDPOINT_LOG_FILE)


def get_database_filepath(endpoint_dir: str) -> str:
    """Return the default blob database path for `endpoint_dir`."""
    return os.path.join(endpoint_dir, ENDPOINT_DATABASE_FILE)


def read_config(endpoint_dir: str) -> EndpointConfig:
    """Read the config of the endpoint in `endpoint_dir`.

    Raises:
        FileNotFoundError: If the folder has no config file.
        ValueError: If the config file is not a valid endpoint config.
    """
    path = get_config_filepath(endpoint_dir)
    with open(path, 'rb') as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f'Unable to parse ({path}): {e}.') from e
    try:
        return EndpointConfig.model_validate(data, strict=True)
    except pydantic.ValidationError as e:
        raise ValueError(f'Unable to parse ({path}): {e}.') from e


def make_private_dir(path: str) -> None:
    """Create folder `path` (and parents) with mode 0700.

    An existing folder keeps its mode, except the last component, which is
    tightened to 0700 if group or others may use it.
    """
    os.makedirs(path, mode=DIRECTORY_MODE, exist_ok=True)
    mode = os.stat(path).st_mode & 0o777
    if mode & 0o077:
        os.chmod(path, mode & ~0o077)


def write_config(config: EndpointConfig, endpoint_dir: str) -> None:
    """Write `config` to `endpoint_dir` (created if needed) atomically.

    The folder gets mode 0700 and the file 0600 (it may hold the token).
    `None` values are left out, and so is `allow_unauthenticated` unless
    it is set.
    """
    make_private_dir(endpoint_dir)
    path = get_config_filepath(endpoint_dir)
    tmp_path = f'{path}.tmp'
    data = config.model_dump(exclude_none=True)
    if not config.allow_unauthenticated:
        data.pop('allow_unauthenticated', None)
    with contextlib.suppress(FileNotFoundError):
        os.remove(tmp_path)
    fd = os.open(
        tmp_path,
        os.O_CREAT | os.O_EXCL | os.O_WRONLY,
        SECRET_FILE_MODE,
    )
    with os.fdopen(fd, 'wb') as f:
        os.fchmod(f.fileno(), SECRET_FILE_MODE)
        tomli_w.dump(data, f)
    os.replace(tmp_path, path)


def get_configs(proxystore_dir: str | None = None) -> list[EndpointConfig]:
    """Return the valid endpoint configs under `proxystore_dir`, by name.

    Every subdirectory is searched, recursively; folders without a
    readable, valid config are skipped. A missing directory gives `[]`.
    """
    base = proxystore_dir or default_proxystore_dir()
    if not os.path.isdir(base):
        return []
    configs = []
    for directory, subdirs, files in os.walk(base):
        subdirs.sort()
        if directory == base or ENDPOINT_CONFIG_FILE not in files:
            continue
        try:
            configs.append(read_config(directory))
        except (OSError, ValueError):
            continue
    return sorted(configs, key=lambda config: config.name)
