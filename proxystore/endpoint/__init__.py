"""ProxyStore endpoints: per-site blob servers that peer with each other.

An endpoint is a long-running HTTP blob server (see `serve`) that a user
starts on each site with the `proxystore-endpoint` CLI. The
`EndpointConnector` talks to the local endpoint, and an endpoint forwards
requests naming another endpoint's UUID to that peer (see `peers`).
"""

from __future__ import annotations
