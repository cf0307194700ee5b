"""Endpoint benchmarks (issue 5), against a real endpoint process.

Rows:
- 64 MiB float64 array put+get through `Store(EndpointConnector)` against
  `Store(FileConnector)` on a temporary directory, same run.
- 1 KiB put+get+evict from one client, read two ways: HTTP requests per
  second (put, get and evict are one request each; the issue's ops/s) and
  full put+get+evict cycles per second.
- The same from 8 concurrent client processes (aggregate; report only).
- For context (report only), loopback TCP between two Python processes
  on this machine: the ping-pong rate (ceiling for any request/response
  protocol) and the time to send 64 MiB to a peer that receives it into a
  fresh buffer and sends it back (what moving the bytes there and back
  costs, page faults included).

The endpoint is configured and started detached exactly as the
`proxystore-endpoint` CLI does, in a temporary ProxyStore home directory,
and stopped afterwards.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np

from benchmarks.common import Row
from benchmarks.common import StorePutGet
from benchmarks.common import best_time
from benchmarks.common import interleaved_best
from benchmarks.common import ratio_row
from proxystore.connectors.endpoint import EndpointConnector
from proxystore.connectors.file import FileConnector
from proxystore.endpoint.commands import launch_endpoint
from proxystore.endpoint.commands import new_endpoint_config
from proxystore.endpoint.commands import terminate_endpoint
from proxystore.endpoint.polling import wait_readable
from proxystore.serialize.buffers import allocate
from tests.fixtures.ports import free_port

SECTION = 'endpoint'
ARRAY_BYTES = 64 << 20
SMALL_BYTES = 1024
CLIENTS = 8


@contextlib.contextmanager
def _endpoint(home: str) -> Iterator[str]:
    # Default security: a token is generated and checked on every request.
    config = new_endpoint_config(
        'bench',
        host='127.0.0.1',
        port=free_port(),
        max_object_size=2 * ARRAY_BYTES,
        proxystore_dir=home,
    )
    launch_endpoint('bench', proxystore_dir=home)
    try:
        yield config.uuid
    finally:
        terminate_endpoint('bench', proxystore_dir=home)


def _large_row(
    home: str,
    uuid: str,
    repeat: int,
) -> tuple[Row, float, float]:
    """Return the 64 MiB row, the endpoint time and the file time.

    The two stores are timed in alternating rounds, so load on the shared
    machine hits both alike; each figure is the best round.
    """
    from proxystore.store import Store

    array = np.random.default_rng(0).random(ARRAY_BYTES // 8)
    with tempfile.TemporaryDirectory() as tmp:
        files = FileConnector(os.path.join(tmp, 'store'))
        endpoint = EndpointConnector([uuid], proxystore_dir=home)
        with (
            Store('bench-endpoint-file', files, cache_size=0) as file_store,
            Store('bench-endpoint', endpoint, cache_size=0) as store,
        ):
            file_time, endpoint_time = interleaved_best(
                [StorePutGet(file_store, array), StorePutGet(store, array)],
                repeat,
            )
    row = ratio_row(
        SECTION,
        '64 MiB put+get Store(EndpointConnector)',
        endpoint_time,
        file_time,
        1.5,
        'Store(FileConnector)',
    )
    return row, endpoint_time, file_time


def _cycles(home: str, uuid: str, count: int) -> float:
    """Run `count` 1 KiB put+get+evict cycles; return elapsed seconds."""
    data = os.urandom(SMALL_BYTES)
    with EndpointConnector([uuid], proxystore_dir=home) as connector:
        for _ in range(50):  # warm up the connection
            connector.evict(connector.put(data))
        start = time.perf_counter()
        for _ in range(count):
            key = connector.put(data)
            connector.get(key)
            connector.evict(key)
        return time.perf_counter() - start


def _small_rows(
    home: str,
    uuid: str,
    count: int,
    repeat: int,
    ping_pong: float,
) -> list[Row]:
    best = min(_cycles(home, uuid, count) for _ in range(repeat))
    cycles = count / best
    requests = 3 * cycles
    ceiling = f'{requests / ping_pong:.0%} of the bare TCP ping-pong rate'
    single = [
        Row(
            section=SECTION,
            name='1 KiB put/get/evict, 1 client: requests',
            value=requests,
            unit='requests/s',
            target='>= 30,000 ops/s (issue 10; each op is one request)',
            ok=requests >= 30_000,
            detail=ceiling,
        ),
        Row(
            section=SECTION,
            name='1 KiB put+get+evict, 1 client: full cycles',
            value=cycles,
            unit='cycles/s',
            target='>= 10,000 cycles/s (stricter reading)',
            ok=cycles >= 10_000,
            detail='3 requests per cycle',
        ),
    ]
    context = multiprocessing.get_context('spawn')
    with ProcessPoolExecutor(CLIENTS, mp_context=context) as pool:
        # Warm-up round so process start-up is not timed.
        list(pool.map(_cycles, [home] * CLIENTS, [uuid] * CLIENTS, [1] * 8))
        start = time.perf_counter()
        list(
            pool.map(
                _cycles,
                [home] * CLIENTS,
                [uuid] * CLIENTS,
                [count] * CLIENTS,
            ),
        )
        elapsed = time.perf_counter() - start
    total = CLIENTS * count / elapsed
    concurrent = Row(
        section=SECTION,
        name=f'1 KiB put/get/evict, {CLIENTS} clients',
        value=3 * total,
        unit='requests/s',
        detail=f'{total:,.0f} cycles/s aggregate',
    )
    return [*single, concurrent]


def _tcp_server(port_queue: Any, size: int) -> None:
    """Echo `size`-byte messages on one connection, like a blob server.

    Each message is received into a fresh buffer (as a server storing it
    would) and sent back (as a server answering a get would).
    """
    with socket.socket() as server:
        server.bind(('127.0.0.1', 0))
        server.listen()
        port_queue.put(server.getsockname()[1])
        conn, _ = server.accept()
        with conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            while True:
                wait_readable(conn)  # poll first, as the endpoint does
                buffer = _recv_exactly(conn, size)
                if buffer is None:
                    return
                conn.sendall(buffer)


def _recv_exactly(
    sock: socket.socket,
    size: int,
) -> bytearray | memoryview | None:
    # The same huge-page buffers the endpoint client uses.
    buffer = allocate(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        n = sock.recv_into(view[received:])
        if n == 0:
            return None
        received += n
    return buffer


@contextlib.contextmanager
def _tcp_peer(size: int) -> Iterator[socket.socket]:
    context = multiprocessing.get_context('spawn')
    ports = context.Queue()
    process = context.Process(target=_tcp_server, args=(ports, size))
    process.start()
    try:
        port = ports.get(timeout=30)
        with socket.create_connection(('127.0.0.1', port)) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            yield sock
    finally:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()


def _ping_pong_rate(count: int) -> float:
    """Return round trips/s of 64-byte ping-pong over loopback TCP."""
    with _tcp_peer(64) as sock:
        message = b'x' * 64
        start = time.perf_counter()
        for _ in range(count):
            sock.sendall(message)
            wait_readable(sock)
            _recv_exactly(sock, 64)
        return count / (time.perf_counter() - start)


def _tcp_echo_time(repeat: int) -> float:
    """Return the best time to echo 64 MiB over loopback TCP."""
    data = os.urandom(ARRAY_BYTES)
    with _tcp_peer(ARRAY_BYTES) as sock:

        def there_and_back() -> None:
            sock.sendall(data)
            _recv_exactly(sock, ARRAY_BYTES)

        return best_time(there_and_back, repeat=repeat)


def run(quick: bool) -> list[Row]:
    repeat = 3 if quick else 5
    # Small-object rows: many short runs, best kept (the machine is shared).
    count = 300 if quick else 500
    ping_pong = _ping_pong_rate(count * 3)
    echo = _tcp_echo_time(repeat)
    with tempfile.TemporaryDirectory() as home:
        with _endpoint(home) as uuid:
            large, endpoint_large, file_time = _large_row(
                home, uuid, 3 * repeat
            )
            small = _small_rows(home, uuid, count, 3 * repeat, ping_pong)
    context = [
        Row(
            section=SECTION,
            name='bare TCP ping-pong (ceiling)',
            value=ping_pong,
            unit='round trips/s',
            detail=(
                'Python sockets, two processes, loopback; both poll before '
                'blocking, as the endpoint and its client do'
            ),
        ),
        Row(
            section=SECTION,
            name='bare TCP echo of 64 MiB vs Store(FileConnector)',
            value=echo / file_time,
            unit='x',
            detail=(
                f'{echo * 1e3:.1f} ms, received into fresh buffers on both '
                'sides: the transport alone, before any HTTP'
            ),
        ),
        Row(
            section=SECTION,
            name='64 MiB Store(EndpointConnector) vs bare TCP echo',
            value=endpoint_large / echo,
            unit='x',
        ),
    ]
    return [large, *small, *context]
