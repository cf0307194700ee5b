"""The relay server endpoints register with to find their peers.

Run it with `proxystore-relay --port 8700` and point endpoints at it with
`proxystore-endpoint configure NAME --relay-address ws://host:8700`.
"""

from __future__ import annotations
