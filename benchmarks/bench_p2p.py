"""Peering benchmarks (issue 10): reading an object through a peer.

A relay and four endpoint processes run on loopback. The object lives
on endpoint A; a client reads it over HTTP from:

- A itself (`local endpoint`, the baseline of every row);
- B, which fetches it from A's HTTP server, whose address A announced
  (`direct HTTP`);
- D, which ignores announced addresses and fetches it over WebRTC
  (aiortc, host candidates);
- C, whose ICE is made to fail (transport policy `relay` without a TURN
  server), so it fetches the object through the relay's websocket.

Rows: 64 MiB get throughput (MB/s) and 1 KiB get rate (ops/s) per path,
each with its ratio to the local endpoint measured in the same run. The
relayed rows run at the relay's default per-client peer-data rate limit.
The target row: WebRTC 64 MiB >= 100 MB/s on loopback.
"""

from __future__ import annotations

import contextlib
import functools
import os
import pathlib
import tempfile
import time
from collections.abc import Callable
from collections.abc import Iterator

from benchmarks.common import Row
from proxystore.endpoint import client
from proxystore.endpoint.config import EndpointConfig
from tests.p2p.processes import endpoint_processes
from tests.p2p.processes import relay_process

SECTION = 'p2p'
LARGE_BYTES = 64 << 20
SMALL_BYTES = 1024
WEBRTC_TARGET_MBPS = 100.0


def _address(config: EndpointConfig) -> str:
    return f'http://127.0.0.1:{config.port}'


@contextlib.contextmanager
def _endpoints(home: pathlib.Path) -> Iterator[dict[str, EndpointConfig]]:
    with (
        relay_process(home) as relay,
        endpoint_processes(
            home,
            relay,
            {
                'a': {},
                'b': {},
                'c': {'env': {'PROXYSTORE_ICE_TRANSPORT_POLICY': 'relay'}},
                'd': {'env': {'PROXYSTORE_PEER_DIRECT_HTTP': '0'}},
            },
        ) as configs,
    ):
        yield {
            'local endpoint': configs['a'],
            'direct HTTP': configs['b'],
            'WebRTC': configs['d'],
            'relayed': configs['c'],
        }


def _get_time(address: str, key: str, owner: str, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        data = client.get(address, key, endpoint=owner)
        assert data is not None
    return (time.perf_counter() - start) / count


def _best(fn: Callable[[], float], repeat: int) -> float:
    return min(fn() for _ in range(repeat))


def run(quick: bool) -> list[Row]:
    """Measure every path; return the table rows."""
    large_bytes = LARGE_BYTES // 8 if quick else LARGE_BYTES
    repeat = 2 if quick else 3
    small_count = 100 if quick else 300
    large = os.urandom(large_bytes)
    small = os.urandom(SMALL_BYTES)
    label = f'{large_bytes >> 20} MiB'
    rows: list[Row] = []
    with (
        tempfile.TemporaryDirectory() as tmp,
        _endpoints(
            pathlib.Path(tmp),
        ) as endpoints,
    ):
        owner = endpoints['local endpoint']
        client.put(_address(owner), 'large', large)
        client.put(_address(owner), 'small', small)
        times: dict[str, tuple[float, float]] = {}
        for path, config in endpoints.items():
            address = _address(config)
            # Warm up: makes the peer connection.
            _get_time(address, 'small', owner.uuid, 3)
            large_time = _best(
                functools.partial(_get_time, address, 'large', owner.uuid, 1),
                repeat,
            )
            small_time = _best(
                functools.partial(
                    _get_time,
                    address,
                    'small',
                    owner.uuid,
                    small_count,
                ),
                repeat,
            )
            times[path] = (large_time, small_time)
    local_large, local_small = times['local endpoint']
    for path, (large_time, small_time) in times.items():
        mbps = large_bytes / large_time / 1e6
        target, ok = '', None
        if path == 'WebRTC':
            target = f'>= {WEBRTC_TARGET_MBPS:g} MB/s (issue, 64 MiB)'
            ok = mbps >= WEBRTC_TARGET_MBPS
        rows.append(
            Row(
                section=SECTION,
                name=f'{label} get through peer: {path}',
                value=mbps,
                unit='MB/s',
                target=target,
                ok=ok,
                detail=(
                    f'{large_time * 1e3:.0f} ms; '
                    f'{local_large / large_time:.1%} of local endpoint '
                    f'({large_bytes / local_large / 1e6:.0f} MB/s)'
                ),
            ),
        )
        rows.append(
            Row(
                section=SECTION,
                name=f'1 KiB get through peer: {path}',
                value=1 / small_time,
                unit='ops/s',
                detail=(
                    f'{small_time * 1e6:.0f} us/op; '
                    f'{local_small / small_time:.1%} of local endpoint'
                ),
            ),
        )
    return rows


if __name__ == '__main__':
    from benchmarks.run import format_table

    print(format_table(run(quick=False)))
