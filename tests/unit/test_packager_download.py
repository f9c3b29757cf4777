"""The downloader against the fake image host on loopback: caps, redirects, retries, timeouts, pooling."""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests

from services.packager.download import Downloaded, Downloader, FailedImage, Outcome, StoredImage
from services.packager.fetch import FetchFailed, Limits
from services.packager.guard import AddressPolicy
from services.packager.staging import Staging
from shared.domain.model import Link
from tests.fakeweb import FakeWeb
from tests.fakeweb.images import render

OPEN = AddressPolicy(allow_private=True)


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as server:
        yield server


def _keep(image: Downloaded) -> StoredImage:
    return StoredImage(
        link=image.link,
        key=f"test/{image.link.position}",
        ext=image.info.ext,
        content_type=image.info.content_type,
        width=image.info.width,
        height=image.info.height,
        size=image.fetched.size,
        sha256=image.fetched.sha256,
    )


def _run(downloader: Downloader, urls: list[str]) -> dict[str, Outcome]:
    links = [Link(position=i, url=url) for i, url in enumerate(urls, 1)]
    return {outcome.link.url: outcome for outcome in downloader.download(links, _keep)}


def _reason(outcome: Outcome) -> str:
    assert isinstance(outcome, FailedImage), outcome
    return outcome.reason


def test_verified_images_carry_real_type_size_and_digest(web: FakeWeb) -> None:
    urls = [f"{web.url}/img/{n}.{ext}?size={40 + n}" for n, ext in enumerate(["jpg", "png", "gif", "webp"], 1)]
    urls.append(f"{web.url}/img/5.png?redirect_to=/img/5.gif")  # the URL says png, the bytes say gif
    outcomes = _run(Downloader(OPEN), urls)
    for url, outcome in outcomes.items():
        assert isinstance(outcome, StoredImage), outcome
        body = requests.get(url, timeout=5).content
        assert outcome.sha256 == hashlib.sha256(body).hexdigest()
        assert outcome.size == len(body)
    kinds = [(outcomes[u].ext, outcomes[u].content_type, outcomes[u].width) for u in urls]  # type: ignore[union-attr]
    assert kinds == [
        ("jpg", "image/jpeg", 41),
        ("png", "image/png", 42),
        ("gif", "image/gif", 43),
        ("webp", "image/webp", 44),
        ("gif", "image/gif", 200),
    ]


def test_failures_have_short_reasons(web: FakeWeb, tmp_path: Path) -> None:
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    cases = {
        f"{web.url}/img/1.jpg?status=404": "HTTP 404",
        f"{web.url}/img/2.jpg?status=403": "HTTP 403",
        f"{web.url}/img/3.jpg?wrong_type=1": "not an image",
        f"{web.url}/img/4.png?pad_kb=150": "too large: over 100 KB",
        f"{web.url}/img/5.png?pad_kb=150&no_length=1": "too large: over 100 KB",
        f"{web.url}/img/6.jpg?redirect=6": "too many redirects",
        f"{web.url}/img/7.jpg?size=400": "too many pixels: 400x400",
        f"http://127.0.0.1:{dead_port}/img/8.jpg": "connection failed",
        "ftp://127.0.0.1/img/9.jpg": "unsupported URL scheme",
        "http://[::1/img/10.jpg": "unsupported URL",
    }
    downloader = Downloader(OPEN, Limits(max_bytes=100 * 1024, backoff=0.01), max_pixels=100_000, temp_dir=tmp_path)
    outcomes = _run(downloader, list(cases))
    assert {url: _reason(outcome) for url, outcome in outcomes.items()} == cases
    assert list(tmp_path.iterdir()) == [], "temporary files are removed whatever the outcome"


def test_within_caps_passes(web: FakeWeb) -> None:
    downloader = Downloader(OPEN, Limits(max_bytes=100 * 1024))
    outcomes = _run(
        downloader,
        [
            f"{web.url}/img/1.png?pad_kb=90&no_length=1",
            f"{web.url}/img/2.jpg?redirect=5",
            f"{web.url}/img/3.webp?pad_kb=60",
        ],
    )
    assert all(isinstance(o, StoredImage) for o in outcomes.values()), outcomes
    assert outcomes[f"{web.url}/img/1.png?pad_kb=90&no_length=1"].size >= 90 * 1024  # type: ignore[union-attr]


def test_retries_server_errors_with_backoff_then_gives_up(web: FakeWeb) -> None:
    downloader = Downloader(OPEN, Limits(retries=2, backoff=0.5))
    waits: list[float] = []
    downloader.fetcher.sleep = waits.append
    stamp = time.monotonic_ns()
    recovers = f"{web.url}/img/1.jpg?fail_first=2&t={stamp}"
    gives_up = f"{web.url}/img/2.jpg?fail_first=3&t={stamp}"
    fetched = downloader.fetcher.fetch(recovers)
    assert fetched.size > 0
    fetched.body.discard()
    assert waits == [0.5, 1.0]
    waits.clear()
    with pytest.raises(FetchFailed, match=r"^HTTP 503$"):
        downloader.fetcher.fetch(gives_up)
    assert waits == [0.5, 1.0]


def test_honours_retry_after_up_to_a_cap(web: FakeWeb) -> None:
    downloader = Downloader(OPEN, Limits(retries=2, max_retry_after=3.0))
    waits: list[float] = []
    downloader.fetcher.sleep = waits.append
    with pytest.raises(FetchFailed, match=r"^HTTP 429$"):
        downloader.fetcher.fetch(f"{web.url}/img/1.jpg?status=429&retry_after=2")
    assert waits == [2.0, 2.0]
    waits.clear()
    with pytest.raises(FetchFailed, match=r"^HTTP 503$"):
        downloader.fetcher.fetch(f"{web.url}/img/1.jpg?status=503&retry_after=3600")
    assert waits == [3.0, 3.0]


def test_total_time_cap_holds_while_streaming(web: FakeWeb) -> None:
    downloader = Downloader(OPEN, Limits(total_timeout=1.0))
    started = time.monotonic()
    with pytest.raises(FetchFailed, match=r"^timed out$"):
        # 40 chunks of 1 KB, 200 ms apart: 8 s if nothing stopped it.
        downloader.fetcher.fetch(f"{web.url}/img/1.png?pad_kb=40&chunk_kb=1&trickle_ms=200")
    assert time.monotonic() - started < 2.5


def test_read_timeout(web: FakeWeb) -> None:
    downloader = Downloader(OPEN, Limits(read_timeout=0.3))
    started = time.monotonic()
    with pytest.raises(FetchFailed, match=r"^timed out$"):
        downloader.fetcher.fetch(f"{web.url}/img/1.jpg?latency_ms=3000")
    assert time.monotonic() - started < 2.0


class _KeepAliveHandler(BaseHTTPRequestHandler):
    # Werkzeug's development server closes every connection; this one keeps them open, as CDNs do.
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = render(int(self.path.rsplit("/", 1)[-1].split(".")[0]), "jpg")
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_connections_are_reused_per_host(monkeypatch: pytest.MonkeyPatch) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _KeepAliveHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    connects: list[Any] = []
    real_connect = socket.socket.connect

    def recording_connect(self: socket.socket, address: Any) -> None:
        connects.append(address)
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    try:
        downloader = Downloader(OPEN)
        digests = set()
        for n in range(1, 11):
            fetched = downloader.fetcher.fetch(f"http://127.0.0.1:{server.server_port}/img/{n}.jpg")
            digests.add(fetched.sha256)
            fetched.body.discard()
    finally:
        server.shutdown()
        server.server_close()
    assert len(digests) == 10
    assert connects == [("127.0.0.1", server.server_port)], "one connection for ten images in a row"


def test_concurrency_is_bounded_per_host() -> None:
    downloader = Downloader(OPEN, concurrency=16, per_host=3)
    # Its own fake web, so the high-water mark is this test's.
    with FakeWeb() as own:
        outcomes = _run(downloader, [f"{own.url}/img/{n}.jpg?latency_ms=100" for n in range(12)])
        stats = requests.get(f"{own.url}/img/stats", timeout=5).json()
    assert all(isinstance(o, StoredImage) for o in outcomes.values())
    assert stats["requests"] == 12
    assert stats["max_in_flight"] == 3
    assert len(downloader.fetcher.hosts) == 0, "per-host slots are dropped once unused"


def test_connect_timeout() -> None:
    # A listening socket that never accepts, its one-place backlog already taken: the kernel drops
    # further handshakes, so connecting hangs until the client gives up, as with a black-holed host.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    try:
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            filler.connect_ex(("127.0.0.1", port))
            fillers.append(filler)
        downloader = Downloader(OPEN, Limits(connect_timeout=0.3, read_timeout=10, retries=0))
        started = time.monotonic()
        with pytest.raises(FetchFailed, match=r"^timed out$"):
            downloader.fetcher.fetch(f"http://127.0.0.1:{port}/img/1.jpg")
        assert time.monotonic() - started < 3.0
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


def test_small_bodies_are_checked_in_place_large_ones_only_in_the_check_threads(
    web: FakeWeb, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloader = Downloader(OPEN, check_workers=2)
    checked_in: dict[str, str] = {}
    real_check = downloader._check

    def recording_check(link: Link, fetched: Any) -> Any:
        checked_in[link.url] = threading.current_thread().name
        return real_check(link, fetched)

    monkeypatch.setattr(downloader, "_check", recording_check)
    small, large = f"{web.url}/img/1.jpg?pad_kb=100", f"{web.url}/img/2.jpg?pad_kb=600"  # the spool keeps 512 KB
    outcomes = _run(downloader, [small, large])
    assert all(isinstance(o, StoredImage) for o in outcomes.values()), outcomes
    assert checked_in[small].startswith("download"), checked_in
    assert checked_in[large].startswith("check"), checked_in


def test_no_links_no_outcomes() -> None:
    assert list(Downloader(OPEN).download([], _keep)) == []


def test_downloads_ending_early_release_those_waiting_in_keep_before_waiting_for_them(
    web: FakeWeb, tmp_path: Path
) -> None:
    # Links 2..8 wait in the staging for room until the zip has link 1; link 1's keep fails (a full
    # disk). Ending there, the downloads must close the staging first, or they wait for good.
    staging = Staging(tmp_path, memory_limit=0, disk_limit=1)
    staging.settling(1)
    second_kept = threading.Event()

    def keep(image: Downloaded) -> StoredImage:
        if image.link.position == 1:
            second_kept.wait(10)  # so that the others are kept or waiting by then
            raise OSError("no space left on device")
        stored = staging.keep(image)
        second_kept.set()
        return stored

    links = [Link(position=n, url=f"{web.url}/img/{n}.png?size=32") for n in range(1, 9)]
    downloader = Downloader(OPEN, temp_dir=tmp_path)
    raised: list[BaseException] = []

    def consume() -> None:
        try:
            list(downloader.download(links, keep, abandon=staging.close))
        except OSError as exc:
            raised.append(exc)

    consumer = threading.Thread(target=consume, daemon=True)
    consumer.start()
    consumer.join(timeout=30)
    assert not consumer.is_alive(), "the downloads waited for a download waiting for them"
    assert [str(exc) for exc in raised] == ["no space left on device"]
    assert list(tmp_path.iterdir()) == [], "no staged or spooled file left"
