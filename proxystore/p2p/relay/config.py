"""Relay server configuration, read from a TOML file.

```toml
host = "relay.example.org"
port = 8700
certfile = "/etc/proxystore/relay.pem"
keyfile = "/etc/proxystore/relay.key"

[auth]
method = "globus"

[auth.kwargs]
client_id = "..."
client_secret = "..."

[logging]
log_dir = "/var/log/proxystore-relay"
default_level = "INFO"

[peer_data]
bytes_per_second = 33554432
```

Without `[auth]` the relay binds loopback unless `host` is given, and a
non-loopback `host` is refused unless `allow_public_without_auth = true`.
"""

from __future__ import annotations

import ipaddress
import logging
import pathlib
from typing import Any
from typing import Literal

from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from typing_extensions import Self

from proxystore.utils.config import load

DEFAULT_PEER_DATA_FRAME_BYTES = 512 * 1024
"""Default largest `peer_data` frame the relay forwards."""

DEFAULT_PEER_DATA_BYTES_PER_SECOND = 32 * 1024 * 1024
"""Default `peer_data` rate each client may send through the relay."""

DEFAULT_PEER_DATA_BURST_BYTES = 4 * 1024 * 1024
"""Default `peer_data` burst each client may send at once."""


class RelayAuthConfig(BaseModel):
    """How the relay authenticates clients.

    Attributes:
        method: `None` for no authentication or `'globus'`.
        kwargs: Keyword arguments of the authenticator (for `'globus'`:
            `client_id`, `client_secret`, `audience`).
    """

    model_config = ConfigDict(extra='forbid')

    method: Literal['globus'] | None = None
    kwargs: dict[str, Any] = Field(default_factory=dict, repr=False)


class RelayLoggingConfig(BaseModel):
    """Relay logging.

    Attributes:
        log_dir: Folder for `server.log` (rotated weekly); none by default.
        default_level: Level of the root logger.
        websockets_level: Level of the `websockets` library's logger.
        current_client_interval: Seconds between logs of the connected
            clients (`None` to disable).
        current_client_limit: List the clients one per line only when there
            are fewer than this many.
    """

    log_dir: str | None = None
    default_level: int | str = logging.INFO
    websockets_level: int | str = logging.WARNING
    current_client_interval: int | None = 60
    current_client_limit: int | None = 32


class RelayPeerDataConfig(BaseModel):
    """Limits on relayed peer data (`peer_data` messages, an extension).

    Attributes:
        enabled: Forward `peer_data` messages at all.
        max_frame_bytes: Largest `peer_data` frame forwarded; larger ones
            are sent back to the sender with an error.
        bytes_per_second: Sustained `peer_data` bytes per second each
            client may send (`None`: unlimited). A faster client is slowed
            down, not dropped.
        burst_bytes: Bytes a client may send at once above the rate.
    """

    enabled: bool = True
    max_frame_bytes: int = Field(default=DEFAULT_PEER_DATA_FRAME_BYTES, gt=0)
    bytes_per_second: int | None = Field(
        default=DEFAULT_PEER_DATA_BYTES_PER_SECOND,
        gt=0,
    )
    burst_bytes: int = Field(default=DEFAULT_PEER_DATA_BURST_BYTES, gt=0)


class RelayServingConfig(BaseModel):
    """Everything `proxystore-relay` needs to serve.

    Attributes:
        host: Address to bind; `None` means loopback (`localhost`) without
            authentication and every interface with it.
        port: Port to bind (0 picks a free one).
        certfile: TLS certificate chain (PEM); enables `wss://`.
        keyfile: TLS private key (PEM), if not inside `certfile`.
        auth: Client authentication.
        logging: Logging.
        max_message_bytes: Close clients that send a larger frame (4003).
        allow_public_without_auth: Allow a non-loopback `host` without
            authentication (a warning is logged).
        peer_data: Limits on relayed peer data.
    """

    host: str | None = None
    port: int = Field(default=8700, ge=0, le=65535)
    certfile: str | None = None
    keyfile: str | None = None
    auth: RelayAuthConfig = Field(default_factory=RelayAuthConfig)
    logging: RelayLoggingConfig = Field(default_factory=RelayLoggingConfig)
    max_message_bytes: int | None = None
    allow_public_without_auth: bool = False
    peer_data: RelayPeerDataConfig = Field(
        default_factory=RelayPeerDataConfig,
    )

    @classmethod
    def from_toml(cls, filepath: str | pathlib.Path) -> Self:
        """Read a config from a TOML file (pydantic strict mode).

        Raises:
            FileNotFoundError: If the file does not exist.
            ValueError: If it is not valid TOML or does not fit the model.
        """
        with open(filepath, 'rb') as f:
            try:
                return load(cls, f)
            except ValueError as e:
                raise ValueError(f'Unable to parse ({filepath}): {e}') from e


def is_loopback(host: str) -> bool:
    """Whether binding `host` listens on loopback interfaces only.

    Only `localhost` and literal loopback addresses count; any other name
    may resolve to a public address.
    """
    if host.lower() == 'localhost':
        return True
    try:
        return ipaddress.ip_address(host.strip('[]')).is_loopback
    except ValueError:
        return False


def bind_host(config: RelayServingConfig) -> str | None:
    """Return the host the relay binds (`None`: every interface).

    Raises:
        ValueError: If the relay would listen on a non-loopback interface
            without authentication and `allow_public_without_auth` is not
            set.
    """
    host = config.host
    if config.auth.method is None:
        if host is None:
            return 'localhost'
        if not is_loopback(host) and not config.allow_public_without_auth:
            raise ValueError(
                f'Refusing to serve the relay on {host!r} without '
                'authentication: anyone who can reach it could register '
                'and signal endpoints. Configure [auth], bind a loopback '
                'address, or pass --allow-public-without-auth (config: '
                'allow_public_without_auth = true) to do it anyway.',
            )
    return host
