"""ProxyStore endpoints: per-site blob servers that peer with each other.

An endpoint is a long-running HTTP blob server that a user configures and
starts on each site with the `proxystore-endpoint` CLI
(`proxystore.endpoint.cli`, backed by `proxystore.endpoint.commands`).
Its config lives in `config.toml` (`proxystore.endpoint.config`); it is
served by `proxystore.endpoint.serve` (our HTTP server) or as a Quart app
(`proxystore.endpoint.quart_app`), both answering with
`proxystore.endpoint.handlers`. Programs reach it with
`proxystore.endpoint.client` or the `EndpointConnector`; an endpoint
forwards requests naming another endpoint's UUID to that peer through a
relay (`proxystore.p2p`).
"""

from __future__ import annotations
