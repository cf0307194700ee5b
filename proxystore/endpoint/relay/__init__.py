"""Deprecated: the old HTTP registry relay (use `proxystore.p2p.relay`).

The relay is now `proxystore.p2p.relay`, and `proxystore-relay` runs
`proxystore.p2p.relay.run:cli`. This package only remains while the old
HTTP-forwarding peering (`proxystore.endpoint.peers`) still uses it; it
binds loopback by default and will be removed with that peering.
"""

from __future__ import annotations

import warnings

warnings.warn(
    'proxystore.endpoint.relay is deprecated; use proxystore.p2p.relay.',
    DeprecationWarning,
    stacklevel=2,
)
