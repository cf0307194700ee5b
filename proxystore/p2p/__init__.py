"""Peer-to-peer communication between endpoints.

`proxystore.p2p.relay` holds the relay (signalling) server, its client and
its wire messages; the peer connections and their manager live in the
other modules of this package.
"""

from __future__ import annotations
