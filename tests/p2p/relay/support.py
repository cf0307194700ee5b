"""Helpers for relay tests: in-process and subprocess relays on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from collections.abc import Awaitable
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from typing import Any
from typing import TypeVar

import websockets.asyncio.server

from proxystore.p2p.relay.authenticate import NullAuthenticator
from proxystore.p2p.relay.exceptions import ForbiddenError
from proxystore.p2p.relay.exceptions import UnauthorizedError
from proxystore.p2p.relay.server import RelayServer
from tests.fixtures.processes import stop_process

T = TypeVar('T')

PORT_LINE = re.compile(r'Relay server listening on port (\d+)')


def run(coro: Awaitable[T], timeout: float = 30) -> T:
    """Run `coro` in a fresh event loop, failing after `timeout` s."""

    async def _main() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(_main())


async def until(predicate: Callable[[], bool], timeout: float = 10) -> None:
    """Wait until `predicate()` is true (polling), failing after `timeout`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, 'condition not met in time'
        await asyncio.sleep(0.01)


class HeaderAuthenticator:
    """Authenticator whose user is the bearer token itself (tests only).

    `Authorization: Bearer alice` is user `'alice'`; a missing header is
    unauthorized and the token `'banned'` is forbidden.
    """

    def authenticate_user(self, headers: Mapping[str, str]) -> str:
        if 'Authorization' not in headers:
            raise UnauthorizedError('missing authorization header')
        token = headers['Authorization'].removeprefix('Bearer ')
        if token == 'banned':
            raise ForbiddenError('token is banned')
        return token


def bearer(user: str) -> dict[str, str]:
    return {'Authorization': f'Bearer {user}'}


@contextlib.asynccontextmanager
async def in_process_relay(
    server: RelayServer[Any] | None = None,
) -> AsyncIterator[tuple[RelayServer[Any], str]]:
    """Serve `server` (default: no auth) on a free loopback port."""
    server = RelayServer(NullAuthenticator()) if server is None else server
    async with websockets.asyncio.server.serve(
        server.handler,
        '127.0.0.1',
        0,
    ) as ws_server:
        port = ws_server.sockets[0].getsockname()[1]
        yield server, f'ws://127.0.0.1:{port}'


class RelayProcess:
    """A `proxystore-relay` subprocess and its output lines."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.lines: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)
            self._queue.put(line)
        self._queue.put(None)

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float = 30):
        """Return the first match of `pattern` in the output."""
        for line in self.lines:
            match = pattern.search(line)
            if match:
                return match
        while True:
            line = self._queue.get(timeout=timeout)
            if line is None:
                raise AssertionError(
                    'relay exited before printing the line; output:\n'
                    + ''.join(self.lines),
                )
            match = pattern.search(line)
            if match:
                return match

    def output(self) -> str:
        """Everything printed so far (after the process exited)."""
        self._reader.join(timeout=10)
        return ''.join(self.lines)


def relay_command(*args: str) -> list[str]:
    return [sys.executable, '-m', 'proxystore.p2p.relay.run', *args]


@contextlib.contextmanager
def relay_process(*args: str) -> Iterator[RelayProcess]:
    """Start the relay CLI as a subprocess; stop it on exit."""
    process = subprocess.Popen(
        relay_command(*args),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, 'PYTHONUNBUFFERED': '1'},
    )
    relay = RelayProcess(process)
    try:
        yield relay
    finally:
        if process.poll() is None:
            stop_process(process)  # type: ignore[arg-type]
        relay.output()


@contextlib.contextmanager
def running_relay(*args: str, scheme: str = 'ws') -> Iterator[str]:
    """Run the relay CLI on 127.0.0.1 and a free port; yield its address."""
    with relay_process('--host', '127.0.0.1', '--port', '0', *args) as relay:
        port = int(relay.wait_for_line(PORT_LINE).group(1))
        yield f'{scheme}://127.0.0.1:{port}'
