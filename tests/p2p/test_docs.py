"""docs/peering.md: its config is valid and its names are real."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

from proxystore.endpoint.config import EndpointRelayConfig
from proxystore.p2p import manager
from proxystore.p2p import nat
from proxystore.p2p.connection import ENDPOINT_ADDRESS_ATTRIBUTE
from tests.helpers.docs import DOCS
from tests.helpers.docs import doc_blocks


def test_config_example_is_valid() -> None:
    [block] = doc_blocks('peering.md', 'toml')
    relay = EndpointRelayConfig.model_validate(tomllib.loads(block)['relay'])
    assert relay.address == 'wss://relay.example.org'
    assert relay.ice_servers == [{'urls': 'stun:stun.example.org:3478'}]


def test_documented_knobs_exist() -> None:
    text = (DOCS / 'peering.md').read_text()
    for name in (
        manager.ICE_TIMEOUT_ENV,
        manager.ICE_TRANSPORT_POLICY_ENV,
        manager.DIRECT_HTTP_ENV,
        nat.STUN_SERVERS_ENV,
        ENDPOINT_ADDRESS_ATTRIBUTE,
    ):
        assert name in text
    assert f'within {manager.DEFAULT_ICE_TIMEOUT:g} s' in text
