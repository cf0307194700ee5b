"""check_nat against STUN responders on loopback (no public servers)."""

from __future__ import annotations

import asyncio
import logging

import pytest

from proxystore.p2p import nat
from proxystore.p2p.nat import NatType
from proxystore.p2p.nat import Result
from proxystore.p2p.nat import check_nat
from proxystore.p2p.nat import check_nat_and_log
from proxystore.p2p.nat import stun_servers_from_env
from tests.p2p.helpers import stun_responder

pytestmark = pytest.mark.timeout(30)


def test_no_nat_on_loopback() -> None:
    async def main() -> tuple[Result, int, int]:
        async with (
            stun_responder('127.0.0.1') as (first, one),
            stun_responder(
                '127.0.0.2',
            ) as (second, two),
        ):
            result = await asyncio.to_thread(
                check_nat,
                '127.0.0.1',
                0,
                stun_servers=[first, second],
            )
            return result, one.requests, two.requests

    result, one, two = asyncio.run(main())
    assert result.nat_type is NatType.OpenInternet
    assert result.external_ip == '127.0.0.1'
    assert result.external_port > 0
    assert (one, two) == (1, 1)


def test_no_answer_is_a_clear_error() -> None:
    async def main() -> None:
        # A bound UDP port that never answers, and an unresolvable name.
        async with stun_responder() as (address, _):
            pass
        with pytest.raises(RuntimeError, match='No STUN servers returned'):
            await asyncio.to_thread(
                check_nat,
                '127.0.0.1',
                0,
                stun_servers=[address, ('name.invalid', 3478)],
                timeout=0.2,
            )

    asyncio.run(main())


def test_servers_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(nat.STUN_SERVERS_ENV, raising=False)
    assert stun_servers_from_env() is None
    monkeypatch.setenv(nat.STUN_SERVERS_ENV, '127.0.0.1:3478, [::1]:19302')
    assert stun_servers_from_env() == [('127.0.0.1', 3478), ('::1', 19302)]
    monkeypatch.setenv(nat.STUN_SERVERS_ENV, '')
    assert stun_servers_from_env() == []
    with pytest.raises(RuntimeError, match='No STUN servers'):
        check_nat('127.0.0.1', 0)
    monkeypatch.setenv(nat.STUN_SERVERS_ENV, 'no-port')
    with pytest.raises(ValueError, match='host:port'):
        stun_servers_from_env()


def test_check_nat_and_log(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger='proxystore.p2p.nat')
    results = iter(
        [
            Result(NatType.Symmetric, '203.0.113.5', 4242),
            Result(NatType.FullCone, '203.0.113.5', 4242),
        ],
    )
    monkeypatch.setattr(nat, 'check_nat', lambda *a: next(results))
    check_nat_and_log()
    text = caplog.text
    assert 'NAT Type:       Symmetric NAT' in text
    assert 'External IP:    203.0.113.5' in text
    assert 'External Port:  4242' in text
    assert 'relayed' in text
    caplog.clear()
    check_nat_and_log()
    assert 'likely to work' in caplog.text

    def fail(*args: object) -> Result:
        raise RuntimeError('No STUN servers returned a valid response.')

    monkeypatch.setattr(nat, 'check_nat', fail)
    caplog.clear()
    check_nat_and_log()
    assert 'Failed to determine NAT type: No STUN servers' in caplog.text


def test_check_nat_and_log_with_servers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger='proxystore.p2p.nat')

    async def main() -> None:
        async with stun_responder('127.0.0.1') as (server, responder):
            await asyncio.to_thread(
                check_nat_and_log,
                '127.0.0.1',
                0,
                stun_servers=[server],
            )
            assert responder.requests == 1

    asyncio.run(main())
    assert 'NAT Type:       Open Internet (No NAT)' in caplog.text
    assert 'External IP:    127.0.0.1' in caplog.text


def test_nat_type_names() -> None:
    assert NatType._from_str('Full Cone') is NatType.FullCone
    assert NatType._from_str('Symmetric NAT') is NatType.Symmetric
    assert NatType._from_str('PortRestrictedCone') is (
        NatType.PortRestrictedCone
    )
    with pytest.raises(RuntimeError, match='No response'):
        NatType._from_str('Blocked')
    with pytest.raises(RuntimeError, match='Failed to determine'):
        NatType._from_str('Meet an error')
