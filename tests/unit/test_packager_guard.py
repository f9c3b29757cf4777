"""The private-address guard: refused before any connection is made, redirects and rebinding included.

Names are resolved by a resolver patched in the test, and `socket.connect` is patched to record every
attempt and to refuse anything but loopback, so no packet can leave the machine even if the guard
were broken.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from urllib3 import ProxyManager

from services.packager.download import Downloader
from services.packager.fetch import FetchFailed, Limits
from services.packager.guard import (
    CARRIES_IPV4,
    RANGES,
    AddressPolicy,
    BlockedAddress,
    IPAddress,
    check_address,
    range_of,
)
from tests.fakeweb import FakeWeb

# One address from every row of the guard's table: (address, the row's network, the refusal's kind).
# Rows that carry an IPv4 address are shown with one carrying a non-public address.
EVERY_RANGE = [
    ("0.0.0.0", "0.0.0.0/32", "unspecified"),
    ("0.1.2.3", "0.0.0.0/8", "this-network"),
    ("10.0.0.1", "10.0.0.0/8", "private"),
    ("100.64.0.1", "100.64.0.0/10", "carrier-grade NAT"),
    ("127.3.4.5", "127.0.0.0/8", "loopback"),
    ("169.254.169.254", "169.254.0.0/16", "link-local"),
    ("172.16.5.4", "172.16.0.0/12", "private"),
    ("192.0.0.9", "192.0.0.0/24", "reserved"),
    ("192.0.2.10", "192.0.2.0/24", "documentation"),
    ("192.168.1.1", "192.168.0.0/16", "private"),
    ("198.19.255.1", "198.18.0.0/15", "benchmarking"),
    ("198.51.100.7", "198.51.100.0/24", "documentation"),
    ("203.0.113.99", "203.0.113.0/24", "documentation"),
    ("224.0.0.251", "224.0.0.0/4", "multicast"),
    ("240.0.0.1", "240.0.0.0/4", "reserved"),
    ("255.255.255.255", "255.255.255.255/32", "broadcast"),
    ("::ffff:10.1.2.3", "::ffff:0:0/96", "private"),  # IPv4-mapped
    ("64:ff9b::a9fe:a9fe", "64:ff9b::/96", "link-local"),  # NAT64 of 169.254.169.254
    ("2002:7f00:1::", "2002::/16", "loopback"),  # 6to4 of 127.0.0.1
    ("::", "::/128", "unspecified"),
    ("::1", "::1/128", "loopback"),
    ("2001:4:112::1", "2001::/23", "reserved"),
    ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001::/32", "Teredo"),
    ("2001:2::1", "2001:2::/48", "benchmarking"),
    ("2001:db8::1", "2001:db8::/32", "documentation"),
    ("3fff:fff::1", "3fff::/20", "documentation"),
    ("fd12:3456:789a::1", "fc00::/7", "private"),
    ("fe80::1", "fe80::/10", "link-local"),
    ("fec0::1", "fec0::/10", "site-local"),
    ("ff02::1", "ff00::/8", "multicast"),
    ("::7f00:1", "::/8", "reserved"),  # IPv4-compatible, deprecated
    ("100::1", "100::/8", "reserved"),  # discard-only 100::/64
    ("200::1", "200::/7", "reserved"),
    ("400::1", "400::/6", "reserved"),
    ("800::1", "800::/5", "reserved"),
    ("1000::1", "1000::/4", "reserved"),
    ("5f00::1", "4000::/3", "reserved"),
    ("6000::1", "6000::/3", "reserved"),
    ("8000::1", "8000::/3", "reserved"),
    ("a000::1", "a000::/3", "reserved"),
    ("c000::1", "c000::/3", "reserved"),
    ("e000::1", "e000::/4", "reserved"),
    ("f000::1", "f000::/5", "reserved"),
    ("f800::1", "f800::/6", "reserved"),
    ("fe00::1", "fe00::/9", "reserved"),
]
# More addresses, the IPv4-carrying forms above all.
BLOCKED = {
    **{address: kind for address, _, kind in EVERY_RANGE},
    "127.0.0.1": "loopback",
    "fc00::1": "private",
    "::ffff:127.0.0.1": "loopback",
    "::ffff:169.254.169.254": "link-local",
    "::ffff:0.0.0.0": "unspecified",
    "::ffff:100.64.0.1": "carrier-grade NAT",
    "2002:a00:1::1": "private",  # 6to4 of 10.0.0.1
    "2002:c000:201::": "documentation",  # 6to4 of 192.0.2.1
    "64:ff9b::7f00:1": "loopback",  # NAT64 of 127.0.0.1
    "64:ff9b::e000:fb": "multicast",  # NAT64 of 224.0.0.251
    "64:ff9b:1::a00:1": "reserved",  # local-use translation, not the well-known prefix
    "fe80::1%eth0": "link-local",
}
PUBLIC = [
    "8.8.8.8",
    "93.184.216.34",
    "192.88.99.1",
    "2606:4700:4700::1111",
    "2a00:1450:4001::1",
    "2002:808:808::1",  # 6to4 of 8.8.8.8
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
]


def test_every_range_of_the_table_is_listed_here() -> None:
    assert sorted(str(row.network) for row in RANGES) == sorted(network for _, network, _ in EVERY_RANGE)
    for address, network, kind in EVERY_RANGE:
        row = range_of(ipaddress.ip_address(address))
        assert row is not None and str(row.network) == network, address
        assert row.kind in (kind, CARRIES_IPV4)


@pytest.mark.parametrize("address", sorted(BLOCKED))
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(BlockedAddress) as refused:
        check_address(address)
    assert refused.value.kind == BLOCKED[address]
    assert str(refused.value) == f"{BLOCKED[address]} address {address}"
    check_address(address, allow_private=True)  # the switch turns the guard off entirely


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    check_address(address)


def _carried(ip: IPAddress) -> IPAddress:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in ipaddress.ip_network("64:ff9b::/96"):
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


# Hypothesis draws from IANA's special-purpose ranges often, not only uniformly from the whole space.
@given(st.ip_addresses())
@settings(max_examples=2000, derandomize=True)
def test_nothing_the_standard_library_calls_non_global_gets_through(ip: IPAddress) -> None:
    # The table is ours, but it refuses at least what Python knows is not a public unicast address.
    reached = _carried(ip)
    special = not reached.is_global or reached.is_multicast or reached.is_reserved or reached.is_unspecified
    if special:
        with pytest.raises(BlockedAddress):
            check_address(str(ip))


def test_allowed_networks_open_only_themselves() -> None:
    nets = (ipaddress.ip_network("127.0.0.1/32"),)
    check_address("127.0.0.1", allowed_networks=nets)
    with pytest.raises(BlockedAddress):
        check_address("127.0.0.2", allowed_networks=nets)


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as server:
        yield server


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every connect attempt in the process; anything but loopback is refused here as a backstop."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def recording_connect(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        host = address[0] if isinstance(address, tuple) else ""
        if not ipaddress.ip_address(host.split("%")[0]).is_loopback:
            raise OSError(f"test backstop: no connection to {host}")
        real_connect(self, address)

    def recording_create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(("create_connection", address))
        raise OSError("test backstop: create_connection is not how the guard connects")

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    monkeypatch.setattr(socket, "create_connection", recording_create_connection)
    return attempts


@pytest.fixture
def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Names the test resolves: name -> address. Other names resolve as usual (loopback literals)."""
    table: dict[str, str] = {}
    real_getaddrinfo = socket.getaddrinfo

    def fake_getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host not in table:
            return real_getaddrinfo(host, port, *args, **kwargs)
        answers: list[Any] = []
        for address in table[host].split(","):
            if ":" in address:
                answers.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, int(port or 0), 0, 0)))
            else:
                answers.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, int(port or 0))))
        return answers

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    return table


def _guarded(**policy: Any) -> Downloader:
    return Downloader(AddressPolicy(**policy), Limits(retries=0))


def _requests_seen(web: FakeWeb) -> int:
    return int(requests.get(f"{web.url}/img/stats", timeout=5).json()["requests"])


def test_loopback_url_is_refused_before_connecting(web: FakeWeb, connects: list[Any]) -> None:
    before = _requests_seen(web)
    connects.clear()
    with pytest.raises(FetchFailed, match=r"^refused: loopback address 127\.0\.0\.1$"):
        _guarded().fetcher.fetch(f"{web.url}/img/1.jpg")
    assert connects == []
    assert _requests_seen(web) == before


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("10.0.0.1", "refused: private address 10.0.0.1"),
        ("169.254.169.254", "refused: link-local address 169.254.169.254"),
        ("::1", "refused: loopback address ::1"),
        ("::ffff:127.0.0.1", "refused: loopback address ::ffff:127.0.0.1"),
        # One public and one private answer: a rebinding signal, the host is refused outright.
        ("93.184.216.34,10.0.0.1", "refused: private address 10.0.0.1"),
    ],
)
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_names_resolving_to_private_addresses_are_refused(
    scheme: str, address: str, reason: str, resolver: dict[str, str], connects: list[Any]
) -> None:
    resolver["images.example.test"] = address
    with pytest.raises(FetchFailed) as failed:
        _guarded().fetcher.fetch(f"{scheme}://images.example.test/photo.jpg")
    assert failed.value.reason == reason
    assert connects == []


@pytest.mark.parametrize(("address", "network", "kind"), EVERY_RANGE, ids=[n for _, n, _ in EVERY_RANGE])
def test_a_name_in_any_refused_range_is_refused_before_connecting(
    address: str, network: str, kind: str, resolver: dict[str, str], connects: list[Any]
) -> None:
    resolver["images.example.test"] = address
    with pytest.raises(FetchFailed) as failed:
        _guarded().fetcher.fetch("http://images.example.test/photo.jpg")
    assert failed.value.reason == f"refused: {kind} address {address}"
    assert connects == []


def test_redirect_to_a_private_address_is_refused(web: FakeWeb, resolver: dict[str, str], connects: list[Any]) -> None:
    # cdn.example.test stands for a public host: it resolves to the fake web, let through by network.
    resolver["cdn.example.test"] = "127.0.0.1"
    resolver["metadata.example.test"] = "169.254.169.254"
    port = web.url.rsplit(":", 1)[1]
    downloader = _guarded(allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))
    start = f"http://cdn.example.test:{port}/img/1.jpg?redirect_to=http://metadata.example.test/latest/meta-data"
    before = _requests_seen(web)
    connects.clear()
    with pytest.raises(FetchFailed, match=r"^refused: link-local address 169\.254\.169\.254$"):
        downloader.fetcher.fetch(start)
    assert connects == [("127.0.0.1", int(port))], "only the allowed host was ever connected to"
    assert _requests_seen(web) == before + 1

    # The same allowed host serves images as usual.
    fetched = downloader.fetcher.fetch(f"http://cdn.example.test:{port}/img/1.jpg")
    assert fetched.size > 0
    fetched.body.discard()


def test_environment_proxies_are_not_used(web: FakeWeb, monkeypatch: pytest.MonkeyPatch, connects: list[Any]) -> None:
    # A proxy would be connected to instead of the image host, and the guard would check the wrong address.
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("http_proxy", "http://10.9.9.9:3128")
    monkeypatch.setenv("ALL_PROXY", "socks5://10.9.9.9:1080")
    downloader = _guarded(allow_private=True)
    fetched = downloader.fetcher.fetch(f"{web.url}/img/2.png")
    fetched.body.discard()
    assert connects and all(address[0] == "127.0.0.1" for address in connects)
    assert not isinstance(downloader.fetcher._pool, ProxyManager)
