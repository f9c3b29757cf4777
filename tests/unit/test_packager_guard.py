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
from urllib3 import ProxyManager

from services.packager.download import Downloader
from services.packager.fetch import FetchFailed, Limits
from services.packager.guard import AddressPolicy, BlockedAddress, check_address
from tests.fakeweb import FakeWeb

BLOCKED = {
    "127.0.0.1": "loopback",
    "127.3.4.5": "loopback",
    "10.0.0.1": "private",
    "172.16.5.4": "private",
    "192.168.1.1": "private",
    "169.254.169.254": "link-local",
    "100.64.0.1": "non-public",
    "0.0.0.0": "unspecified",
    "224.0.0.251": "multicast",
    "240.0.0.1": "reserved",
    "255.255.255.255": "reserved",
    "::1": "loopback",
    "::": "unspecified",
    "fe80::1": "link-local",
    "fc00::1": "private",
    "ff02::1": "multicast",
    "::ffff:127.0.0.1": "loopback",
    "::ffff:10.1.2.3": "private",
    "::ffff:169.254.169.254": "link-local",
    "2002:7f00:1::": "loopback",  # 6to4 of 127.0.0.1
    "2002:a00:1::1": "private",  # 6to4 of 10.0.0.1
    "64:ff9b::a9fe:a9fe": "link-local",  # NAT64 of 169.254.169.254
}
PUBLIC = ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "2002:808:808::1", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", sorted(BLOCKED))
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(BlockedAddress) as refused:
        check_address(address)
    assert refused.value.kind == BLOCKED[address]
    check_address(address, allow_private=True)  # the switch turns the guard off entirely


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    check_address(address)


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
    fetched.path.unlink()


def test_environment_proxies_are_not_used(web: FakeWeb, monkeypatch: pytest.MonkeyPatch, connects: list[Any]) -> None:
    # A proxy would be connected to instead of the image host, and the guard would check the wrong address.
    monkeypatch.setenv("HTTP_PROXY", "http://10.9.9.9:3128")
    monkeypatch.setenv("http_proxy", "http://10.9.9.9:3128")
    monkeypatch.setenv("ALL_PROXY", "socks5://10.9.9.9:1080")
    downloader = _guarded(allow_private=True)
    fetched = downloader.fetcher.fetch(f"{web.url}/img/2.png")
    fetched.path.unlink()
    assert connects and all(address[0] == "127.0.0.1" for address in connects)
    assert not isinstance(downloader.fetcher._pool, ProxyManager)
