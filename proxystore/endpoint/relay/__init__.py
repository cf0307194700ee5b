"""Deprecated: the relay moved to `proxystore.p2p.relay`.

`proxystore-relay` runs `proxystore.p2p.relay.run:cli`, and
`python -m proxystore.endpoint.relay.cli` still works as an alias of it.
The old HTTP registry (`GET /endpoints`, registration without ownership
checks, bound to 0.0.0.0) is gone.
"""

from __future__ import annotations

import warnings

from proxystore.p2p.relay.client import RelayClient
from proxystore.p2p.relay.config import RelayServingConfig
from proxystore.p2p.relay.run import serve
from proxystore.p2p.relay.server import RelayServer

__all__ = ['RelayClient', 'RelayServer', 'RelayServingConfig', 'serve']

warnings.warn(
    'proxystore.endpoint.relay is deprecated; use proxystore.p2p.relay.',
    DeprecationWarning,
    stacklevel=2,
)
