"""The private-address guard: image URLs are hostile, so the downloader may only reach public addresses.

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

# NAT64's well-known prefix carries an IPv4 address in its last 32 bits, like the mapped forms.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class BlockedAddress(Exception):
    """A connection the guard refused before it was made. Deliberately not an OSError, so neither
    urllib3 nor requests wraps it or retries: the caller sees exactly why."""

    def __init__(self, address: str, kind: str) -> None:
        super().__init__(f"{kind} address {address}")
        self.address = address
        self.kind = kind


def _kind(ip: IPAddress) -> str | None:
    """Why `ip` is not a public address, or None if it is one."""
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_reserved:
        return "reserved"
    if ip.is_private:
        return "private"
    if not ip.is_global:
        # Shared address space (100.64.0.0/10), Teredo and the like: nothing an image lives on.
        return "non-public"
    return None


def _embedded_v4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, NAT64), if any."""
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


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
    # A mapped, 6to4 or NAT64 address is judged by the IPv4 address it carries: that is what the
    # packet really reaches (the IPv6 ranges themselves count as reserved or private).
    kind = _kind(_embedded_v4(ip) or ip)
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
