"""Find the NAT type of this host with STUN (RFC 5389 / RFC 5780).

`check_nat` sends STUN binding requests from one UDP socket to the STUN
servers in turn and compares the mapped (public) addresses they report:

- the mapped address is a local address: no NAT (`OpenInternet`);
- two servers on different IPs see different mappings: `Symmetric` (hole
  punching is unlikely to work; peering falls back to the relay);
- otherwise the mapping is endpoint-independent. If a server supports
  RFC 5780 `CHANGE-REQUEST` (it reports an `OTHER-ADDRESS`), the
  filtering is probed too (`FullCone`, `RestrictedCone`); if not, the
  strictest endpoint-independent type, `PortRestrictedCone`, is reported.

The servers come from the `stun_servers` argument, else from the
`PROXYSTORE_STUN_SERVERS` environment variable (comma-separated
`host:port`; empty means none), else from the public `_STUN_SERVERS`.
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import os
import secrets
import socket
import struct
from collections.abc import Sequence
from typing import NamedTuple

logger = logging.getLogger(__name__)

STUN_SERVERS_ENV = 'PROXYSTORE_STUN_SERVERS'
"""Environment variable listing STUN servers (`host:port,host:port`)."""

_STUN_SERVERS: tuple[tuple[str, int], ...] = (
    ('stun.l.google.com', 19302),
    ('stun1.l.google.com', 19302),
    ('stun2.l.google.com', 19302),
    ('stun3.l.google.com', 19302),
    ('stun4.l.google.com', 19302),
    ('stun.cloudflare.com', 3478),
    ('stun.nextcloud.com', 3478),
    ('stun.sipgate.net', 3478),
)

_MAGIC_COOKIE = 0x2112A442
_BINDING_REQUEST = 0x0001
_BINDING_SUCCESS = 0x0101
_MAPPED_ADDRESS = 0x0001
_CHANGE_REQUEST = 0x0003
_CHANGED_ADDRESS = 0x0005
_XOR_MAPPED_ADDRESS = 0x0020
_OTHER_ADDRESS = 0x802C
_CHANGE_IP = 0x04
_CHANGE_PORT = 0x02
_HEADER = struct.Struct('!HHI12s')


class NatType(enum.Enum):
    """NAT types (the names pystun3 and upstream ProxyStore use)."""

    OpenInternet = 'Open Internet (No NAT)'
    FullCone = 'Full-cone NAT'
    SymmetricUDPFirewall = 'Symmetric UDP Firewall NAT'
    RestrictedCone = 'Restricted-cone NAT'
    PortRestrictedCone = 'Port Restricted-cone NAT'
    Symmetric = 'Symmetric NAT'

    @classmethod
    def _from_str(cls, nat_type: str) -> NatType:
        """Return the type named `nat_type` (a pystun3 constant).

        Raises:
            RuntimeError: For `'Blocked'` or `'Meet an error, when do
                Test1 on Changed IP and Port'`, or an unknown name.
        """
        for member in cls:
            if nat_type in (member.value, member.name):
                return member
        aliases = {
            'Open Internet': cls.OpenInternet,
            'Full Cone': cls.FullCone,
            'Restric NAT': cls.RestrictedCone,
            'Restric Port NAT': cls.PortRestrictedCone,
            'Symmetric NAT': cls.Symmetric,
            'Symmetric UDP Firewall': cls.SymmetricUDPFirewall,
        }
        if nat_type in aliases:
            return aliases[nat_type]
        if nat_type == 'Blocked':
            raise RuntimeError('No response from a STUN server.')
        raise RuntimeError(f'Failed to determine the NAT type: {nat_type}')


class Result(NamedTuple):
    """Outcome of `check_nat`.

    Attributes:
        nat_type: Type of NAT in front of this host.
        external_ip: Public IP address of the mapping.
        external_port: Public port of the mapping.
    """

    nat_type: NatType
    external_ip: str
    external_port: int


class _Response(NamedTuple):
    mapped: tuple[str, int]
    other: tuple[str, int] | None


def stun_servers_from_env() -> list[tuple[str, int]] | None:
    """Return the servers in `PROXYSTORE_STUN_SERVERS` (`None` if unset).

    Raises:
        ValueError: If an entry is not `host:port`.
    """
    value = os.environ.get(STUN_SERVERS_ENV)
    if value is None:
        return None
    servers = []
    for entry in filter(None, (e.strip() for e in value.split(','))):
        host, sep, port = entry.rpartition(':')
        if not sep or not host or not port.isdigit():
            raise ValueError(
                f'{STUN_SERVERS_ENV} entry {entry!r} is not host:port.',
            )
        servers.append((host.strip('[]'), int(port)))
    return servers


def _binding_request(change: int = 0) -> tuple[bytes, bytes]:
    """Return a binding request and its transaction id."""
    transaction = secrets.token_bytes(12)
    attributes = b''
    if change:
        attributes = struct.pack('!HHI', _CHANGE_REQUEST, 4, change)
    header = _HEADER.pack(
        _BINDING_REQUEST,
        len(attributes),
        _MAGIC_COOKIE,
        transaction,
    )
    return header + attributes, transaction


def _parse_address(value: bytes, xor: bytes | None) -> tuple[str, int]:
    family, port = struct.unpack_from('!xBH', value)
    raw = value[4:]
    if xor is not None:
        port ^= _MAGIC_COOKIE >> 16
        raw = bytes(a ^ b for a, b in zip(raw, xor[: len(raw)], strict=True))
    if family == 0x01 and len(raw) == 4:
        return str(ipaddress.IPv4Address(raw)), port
    if family == 0x02 and len(raw) == 16:
        return str(ipaddress.IPv6Address(raw)), port
    raise ValueError(f'Unknown address family {family}.')


def _parse_response(data: bytes, transaction: bytes) -> _Response | None:
    """Parse a binding success response (`None` if it is not one)."""
    if len(data) < _HEADER.size:
        return None
    kind, length, cookie, received = _HEADER.unpack_from(data)
    if (
        kind != _BINDING_SUCCESS
        or cookie != _MAGIC_COOKIE
        or received != transaction
    ):
        return None
    xor_key = struct.pack('!I', _MAGIC_COOKIE) + transaction
    mapped = xor_mapped = other = None
    offset = _HEADER.size
    end = min(len(data), _HEADER.size + length)
    while offset + 4 <= end:
        attr, size = struct.unpack_from('!HH', data, offset)
        value = data[offset + 4 : offset + 4 + size]
        offset += 4 + (size + 3) // 4 * 4
        try:
            if attr == _XOR_MAPPED_ADDRESS:
                xor_mapped = _parse_address(value, xor_key)
            elif attr == _MAPPED_ADDRESS:
                mapped = _parse_address(value, None)
            elif attr in (_OTHER_ADDRESS, _CHANGED_ADDRESS):
                other = _parse_address(value, None)
        except (ValueError, struct.error):
            return None
    address = xor_mapped or mapped
    if address is None:
        return None
    return _Response(address, other)


def _query(
    sock: socket.socket,
    server: tuple[str, int],
    change: int = 0,
    attempts: int = 2,
) -> _Response | None:
    """Send a binding request; return the response or `None` (timeout)."""
    try:
        address = socket.getaddrinfo(
            server[0],
            server[1],
            socket.AF_INET,
            socket.SOCK_DGRAM,
        )[0][4]
    except OSError as e:
        logger.debug('Cannot resolve STUN server %s: %s', server, e)
        return None
    for _ in range(attempts):
        request, transaction = _binding_request(change)
        try:
            sock.sendto(request, address)
            while True:
                data, _ = sock.recvfrom(2048)
                response = _parse_response(data, transaction)
                if response is not None:
                    return response
        except TimeoutError:
            continue
        except OSError as e:
            logger.debug('STUN query to %s failed: %s', server, e)
            return None
    return None


def _local_addresses(sock: socket.socket, server: tuple[str, int]) -> set[str]:
    """Addresses this host sends from (the socket's and the route's)."""
    addresses = {sock.getsockname()[0]}
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(server)
        addresses.add(probe.getsockname()[0])
    except OSError:  # pragma: no cover
        pass
    finally:
        probe.close()
    return addresses


def check_nat(
    source_ip: str = '0.0.0.0',
    source_port: int = 54320,
    *,
    stun_servers: Sequence[tuple[str, int]] | None = None,
    timeout: float = 2.0,
) -> Result:
    """Determine the NAT type and the public address of this host.

    Args:
        source_ip: Local address to send from.
        source_port: Local UDP port to send from (0: any free port).
        stun_servers: `(host, port)` STUN servers to ask (default: see
            the module docstring).
        timeout: Seconds to wait for each STUN response.

    Raises:
        RuntimeError: If no STUN server answered ("No STUN servers
            returned a valid response").
    """
    if stun_servers is None:
        stun_servers = stun_servers_from_env()
    if stun_servers is None:
        stun_servers = _STUN_SERVERS
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.settimeout(timeout)
        sock.bind((source_ip, source_port))
        return _classify(sock, list(stun_servers))
    finally:
        sock.close()


def _classify(sock: socket.socket, servers: list[tuple[str, int]]) -> Result:
    answers: list[tuple[tuple[str, int], _Response]] = []
    seen_ips: set[str] = set()
    for server in servers:
        response = _query(sock, server)
        if response is None:
            continue
        try:
            ip = socket.gethostbyname(server[0])
        except OSError:  # pragma: no cover
            ip = server[0]
        if ip in seen_ips:
            continue
        seen_ips.add(ip)
        answers.append((server, response))
        if len(answers) == 2:
            break
    if not answers:
        raise RuntimeError('No STUN servers returned a valid response.')
    first_server, first = answers[0]
    external_ip, external_port = first.mapped
    local_port = sock.getsockname()[1]
    local = _local_addresses(sock, first_server)
    if external_ip in local and external_port == local_port:
        nat_type = NatType.OpenInternet
        if first.other is not None and not _query(
            sock,
            first_server,
            change=_CHANGE_IP | _CHANGE_PORT,
        ):
            nat_type = NatType.SymmetricUDPFirewall
        return Result(nat_type, external_ip, external_port)
    if len(answers) > 1 and answers[1][1].mapped != first.mapped:
        return Result(NatType.Symmetric, external_ip, external_port)
    if len(answers) == 1:
        logger.debug(
            'Only one STUN server answered: the mapping could not be '
            'compared across servers.',
        )
    nat_type = NatType.PortRestrictedCone
    if first.other is not None:
        if _query(sock, first_server, change=_CHANGE_IP | _CHANGE_PORT):
            nat_type = NatType.FullCone
        elif _query(sock, first_server, change=_CHANGE_PORT):
            nat_type = NatType.RestrictedCone
    return Result(nat_type, external_ip, external_port)


def check_nat_and_log(
    source_ip: str = '0.0.0.0',
    source_port: int = 54320,
    *,
    stun_servers: Sequence[tuple[str, int]] | None = None,
) -> None:
    """Check the NAT type and log the result; never raises.

    `check_nat` is looked up in this module at call time.

    Args:
        source_ip: Local address to send from.
        source_port: Local UDP port to send from (0: any free port).
        stun_servers: STUN servers to ask (default: see `check_nat`).
    """
    logger.info('Checking NAT type. This may take a moment...')
    try:
        if stun_servers is None:
            result = check_nat(source_ip, source_port)
        else:
            result = check_nat(
                source_ip,
                source_port,
                stun_servers=stun_servers,
            )
    except Exception as e:
        logger.error('Failed to determine NAT type: %s', e)
        return
    logger.info('NAT Type:       %s', result.nat_type.value)
    logger.info('External IP:    %s', result.external_ip)
    logger.info('External Port:  %s', result.external_port)
    if result.nat_type is NatType.Symmetric:
        logger.warning(
            'NAT traversal for peer-to-peer methods (e.g., hole-punching) '
            'is difficult or impossible behind this NAT: peer connections '
            'through this endpoint will likely be relayed.',
        )
    else:
        logger.info(
            'NAT traversal for peer-to-peer methods (e.g., hole-punching) '
            'is likely to work.',
        )
