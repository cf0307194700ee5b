"""Deprecated alias of `proxystore.p2p.relay.run:cli` (`proxystore-relay`)."""

from __future__ import annotations

from proxystore.p2p.relay.run import cli

__all__ = ['cli']

if __name__ == '__main__':  # pragma: no cover
    cli()
