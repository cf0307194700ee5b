"""The relay server that peers register with and signal each other through.

Modules: `messages` (the JSON wire messages), `exceptions`, `authenticate`
(who a connecting client is), `manager` (the registered clients),
`server` (the websocket handler), `client` (`RelayClient`), `config`
(`RelayServingConfig`) and `run` (the `proxystore-relay` command).
"""

from __future__ import annotations
