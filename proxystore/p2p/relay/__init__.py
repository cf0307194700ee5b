"""The relay server that peers register with and signal each other through.

Modules: `messages` (the JSON wire messages), `exceptions`, `authenticate`
(who a connecting client is), `manager` (the registered clients),
`server` (the websocket handler), `client` (`RelayClient`), `config`
(`RelayServingConfig`), `run` (the `proxystore-relay` command), and the
extensions `secret` (endpoint secrets that prove a UUID), `pins` (who
holds each UUID) and `limits` (rate limits of relayed peer data).
"""

from __future__ import annotations

import warnings


def warn_missing_dependency(error: ImportError) -> None:
    """Warn that an optional dependency of the relay is not installed."""
    warnings.warn(
        f'{error}. The relay needs websockets: install it with '
        '`pip install proxystore[endpoints]`.',
        stacklevel=3,
    )
