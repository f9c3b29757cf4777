"""The private-address guard: image and webhook URLs are hostile, so imgjob may only reach public addresses.

Shared by the packager's downloader and the webhooks worker (services import each other never, so the
guard lives here).

The check runs on the address the socket actually connects to. Our urllib3 connection classes resolve
the host themselves, check every address the resolver returned, and connect only to a checked one, so
a name that resolves to a public address for a pre-check and to 10.0.0.1 a moment later (DNS rebinding)
gets nowhere. Every connection of the downloader's pool manager goes through these classes, redirect
hops included. The pool manager is plain urllib3: no proxies or .netrc from the environment (through a
proxy the guard would check the proxy's address, not the image host's), no cookies.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.poolmanager import PoolManager
from urllib3.util.connection import allowed_gai_family
from urllib3.util.timeout import _DEFAULT_TIMEOUT

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The kind of the rows whose addresses are judged by the IPv4 address they carry.
CARRIES_IPV4 = "carries an IPv4 address"


@dataclass(frozen=True)
class Range:
    """One row of the guard's table: a network and what the guard says about addresses in it.

    `kind` names it in refusals ("refused: <kind> address <ip>"). A row whose kind is CARRIES_IPV4
    refuses nothing by itself: its addresses reach the IPv4 address they carry, and are judged by that.
    """

    network: IPNetwork
    kind: str
    source: str


def _row(network: str, kind: str, source: str) -> Range:
    return Range(ipaddress.ip_network(network), kind, source)


# Every special-purpose range of IANA's IPv4 and IPv6 registries that no image is served from, and
# IPv6 outside the global unicast 2000::/3. The most specific row containing an address decides, so a
# narrower row (Teredo) names part of a wider one (IETF protocol assignments). Nothing else is refused.
RANGES: tuple[Range, ...] = (
    # IPv4
    _row("0.0.0.0/32", "unspecified", "RFC 1122"),
    _row("0.0.0.0/8", "this-network", "RFC 791"),  # "this host on this network": never a remote one
    _row("10.0.0.0/8", "private", "RFC 1918"),
    _row("100.64.0.0/10", "carrier-grade NAT", "RFC 6598, shared address space"),
    _row("127.0.0.0/8", "loopback", "RFC 1122"),
    _row("169.254.0.0/16", "link-local", "RFC 3927, cloud metadata services live here"),
    _row("172.16.0.0/12", "private", "RFC 1918"),
    _row("192.0.0.0/24", "reserved", "RFC 6890, IETF protocol assignments"),
    _row("192.0.2.0/24", "documentation", "RFC 5737, TEST-NET-1"),
    _row("192.168.0.0/16", "private", "RFC 1918"),
    _row("198.18.0.0/15", "benchmarking", "RFC 2544"),
    _row("198.51.100.0/24", "documentation", "RFC 5737, TEST-NET-2"),
    _row("203.0.113.0/24", "documentation", "RFC 5737, TEST-NET-3"),
    _row("224.0.0.0/4", "multicast", "RFC 5771"),
    _row("240.0.0.0/4", "reserved", "RFC 1112"),
    _row("255.255.255.255/32", "broadcast", "RFC 919"),
    # IPv6 that carries IPv4: judged by the IPv4 address, which is what the packets really reach.
    _row("::ffff:0:0/96", CARRIES_IPV4, "RFC 4291, IPv4-mapped"),
    _row("64:ff9b::/96", CARRIES_IPV4, "RFC 6052, NAT64 well-known prefix"),
    _row("2002::/16", CARRIES_IPV4, "RFC 3056, 6to4"),
    # IPv6
    _row("::/128", "unspecified", "RFC 4291"),
    _row("::1/128", "loopback", "RFC 4291"),
    _row("2001::/23", "reserved", "RFC 2928, IETF protocol assignments"),
    _row("2001::/32", "Teredo", "RFC 4380"),  # tunnels to an obfuscated IPv4 address: refused outright
    _row("2001:2::/48", "benchmarking", "RFC 5180"),
    _row("2001:db8::/32", "documentation", "RFC 3849"),
    _row("3fff::/20", "documentation", "RFC 9637"),
    _row("fc00::/7", "private", "RFC 4193, unique local"),
    _row("fe80::/10", "link-local", "RFC 4291"),
    _row("fec0::/10", "site-local", "RFC 3879, deprecated but still routed inside some sites"),
    _row("ff00::/8", "multicast", "RFC 4291"),
    # Not global unicast (2000::/3): IANA's IPv6 address space registry, "Reserved by IETF". ::/8 holds
    # the IPv4-compatible ::/96, 64:ff9b:1::/48 (local-use translation); 100::/8 the discard-only 100::/64.
    *(
        _row(network, "reserved", "RFC 4291, reserved by IETF")
        for network in (
            "::/8",
            "100::/8",
            "200::/7",
            "400::/6",
            "800::/5",
            "1000::/4",
            "4000::/3",
            "6000::/3",
            "8000::/3",
            "a000::/3",
            "c000::/3",
            "e000::/4",
            "f000::/5",
            "f800::/6",
            "fe00::/9",
        )
    ),
)
# Most specific first, so the first row containing an address is the one that decides.
_BY_PREFIX: dict[int, tuple[Range, ...]] = {
    version: tuple(sorted((r for r in RANGES if r.network.version == version), key=lambda r: -r.network.prefixlen))
    for version in (4, 6)
}


class BlockedAddress(Exception):
    """A connection the guard refused before it was made. Deliberately not an OSError, so neither
    urllib3 nor requests wraps it or retries: the caller sees exactly why."""

    def __init__(self, address: str, kind: str) -> None:
        super().__init__(f"{kind} address {address}")
        self.address = address
        self.kind = kind


def range_of(ip: IPAddress) -> Range | None:
    """The most specific row of RANGES that holds `ip`, or None for an ordinary public address."""
    for row in _BY_PREFIX[ip.version]:
        if ip in row.network:
            return row
    return None


def _carried_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address:
    """The IPv4 address in an IPv4-mapped, NAT64 or 6to4 address."""
    if ip.sixtofour is not None:
        return ip.sixtofour
    return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)  # mapped and NAT64: the last 32 bits


def refusal(ip: IPAddress) -> str | None:
    """Why the guard refuses `ip` (the kind of its range), or None if `ip` is a public address."""
    row = range_of(ip)
    if row is not None and row.kind == CARRIES_IPV4 and isinstance(ip, ipaddress.IPv6Address):
        row = range_of(_carried_v4(ip))
    return None if row is None else row.kind


def check_address(address: str, *, allow_private: bool = False, allowed_networks: Sequence[IPNetwork] = ()) -> None:
    """Raise BlockedAddress unless `address` (an IP literal, as a resolver returns it) is public.

    `allow_private` turns the guard off (tests, the offline demo); `allowed_networks` lets specific
    networks through while the guard stays on for everything else.
    """
    if allow_private:
        return
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        raise BlockedAddress(address, "unparsable") from None
    if any(ip in net for net in allowed_networks):
        return
    kind = refusal(ip)
    if kind is not None:
        raise BlockedAddress(address, kind)


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses the downloader may connect to."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    def check(self, address: str) -> None:
        check_address(address, allow_private=self.allow_private, allowed_networks=self.allowed_networks)


def _guarded_socket(conn: HTTPConnection, policy: AddressPolicy) -> socket.socket:
    """Resolve, check every candidate, then connect to a checked address: what urllib3's own
    `create_connection` does, with the check between resolving and connecting."""
    host = conn._dns_host.strip("[]")
    port = conn.port
    try:
        candidates = socket.getaddrinfo(host, port, allowed_gai_family(), socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise NameResolutionError(conn.host, conn, exc) from exc
    # A name that resolves to a public and a private address at once is a rebinding signal:
    # refuse the host outright rather than pick the public one.
    for *_, sockaddr in candidates:
        policy.check(str(sockaddr[0]))
    error: OSError | None = None
    for family, socktype, proto, _, sockaddr in candidates:
        sock = socket.socket(family, socktype, proto)
        try:
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            if conn.timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(conn.timeout)
            if conn.source_address:
                sock.bind(conn.source_address)
            sock.connect(sockaddr)
        except TimeoutError as exc:
            sock.close()
            raise ConnectTimeoutError(conn, f"Connection to {conn.host} timed out") from exc
        except OSError as exc:
            sock.close()
            error = exc
            continue
        sys.audit("http.client.connect", conn, conn.host, conn.port)
        return sock
    raise NewConnectionError(conn, f"Failed to establish a new connection: {error or 'no address'}")


class GuardedHTTPConnection(HTTPConnection):
    def __init__(self, *args: Any, address_policy: AddressPolicy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.address_policy = address_policy

    def _new_conn(self) -> socket.socket:
        return _guarded_socket(self, self.address_policy)


class GuardedHTTPSConnection(HTTPSConnection):
    def __init__(self, *args: Any, address_policy: AddressPolicy, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.address_policy = address_policy

    def _new_conn(self) -> socket.socket:
        return _guarded_socket(self, self.address_policy)


class GuardedPoolManager(PoolManager):
    """urllib3's PoolManager whose every connection passes the address guard."""

    def __init__(self, policy: AddressPolicy, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.policy = policy

    def _new_pool(
        self, scheme: str, host: str, port: int, request_context: dict[str, Any] | None = None
    ) -> HTTPConnectionPool:
        pool = super()._new_pool(scheme, host, port, request_context)
        # Set on the pool rather than in connection_pool_kw, whose keys the pool key normaliser fixes.
        pool.ConnectionCls = GuardedHTTPSConnection if scheme == "https" else GuardedHTTPConnection
        pool.conn_kw["address_policy"] = self.policy
        return pool


def guarded_pool(policy: AddressPolicy, num_pools: int = 64, maxsize: int = 8) -> GuardedPoolManager:
    """Connection pools for untrusted URLs: `num_pools` hosts kept, `maxsize` kept-alive connections each."""
    return GuardedPoolManager(policy, num_pools=num_pools, maxsize=maxsize, block=False, retries=False)
