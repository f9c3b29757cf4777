"""The fake image host itself: real images, distinct per number, and each misbehaviour as documented."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator

import pytest
import requests
from PIL import Image

from tests.fakeweb import FakeWeb

FORMATS = {"jpg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP"}


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as server:
        yield server


def _decode(data: bytes) -> tuple[str | None, tuple[int, int]]:
    """Decode every pixel; the format and size."""
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return image.format, image.size


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_images_decode_and_differ_per_number(web: FakeWeb, ext: str) -> None:
    digests = set()
    for n in range(1, 6):
        response = requests.get(f"{web.url}/img/{n}.{ext}?size=64", timeout=5)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == f"image/{'jpeg' if ext == 'jpg' else ext}"
        assert _decode(response.content) == (FORMATS[ext], (64, 64))
        digests.add(hashlib.sha256(response.content).hexdigest())
    assert len(digests) == 5
    again = requests.get(f"{web.url}/img/3.{ext}?size=64", timeout=5).content
    assert hashlib.sha256(again).hexdigest() in digests, "the same number gives the same bytes"


@pytest.mark.parametrize("ext", sorted(FORMATS))
def test_padding_makes_big_files_that_still_decode(web: FakeWeb, ext: str) -> None:
    response = requests.get(f"{web.url}/img/7.{ext}?pad_kb=500", timeout=5)
    assert 500 * 1024 <= len(response.content) < 520 * 1024
    assert int(response.headers["Content-Length"]) == len(response.content)
    with Image.open(io.BytesIO(response.content)) as image:
        image.verify()
    assert _decode(response.content) == (FORMATS[ext], (200, 200))


def test_misbehaviours(web: FakeWeb) -> None:
    assert requests.get(f"{web.url}/img/1.jpg?status=418", timeout=5).status_code == 418
    limited = requests.get(f"{web.url}/img/1.jpg?status=429&retry_after=3", timeout=5)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "3")
    assert requests.get(f"{web.url}/img/8.jpg?fail_every=4", timeout=5).status_code == 500
    assert requests.get(f"{web.url}/img/9.jpg?fail_every=4", timeout=5).status_code == 200
    flaky = f"{web.url}/img/2.png?fail_first=2&t={time.monotonic_ns()}"
    assert [requests.get(flaky, timeout=5).status_code for _ in range(3)] == [503, 503, 200]

    wrong = requests.get(f"{web.url}/img/3.jpg?wrong_type=1", timeout=5)
    assert wrong.headers["Content-Type"] == "image/jpeg" and wrong.content.startswith(b"<!doctype html>")

    hop = requests.get(f"{web.url}/img/4.gif?redirect=2&size=50", allow_redirects=False, timeout=5)
    assert hop.status_code == 302 and hop.headers["Location"].endswith("/img/4.gif?redirect=1&size=50")
    followed = requests.get(f"{web.url}/img/4.gif?redirect=2&size=50", timeout=5)
    assert len(followed.history) == 2 and _decode(followed.content) == ("GIF", (50, 50))
    away = requests.get(
        f"{web.url}/img/5.jpg?redirect_to=http://elsewhere.test/x.jpg", allow_redirects=False, timeout=5
    )
    assert away.headers["Location"] == "http://elsewhere.test/x.jpg"

    unsized = requests.get(f"{web.url}/img/6.png?no_length=1", timeout=5)
    assert "Content-Length" not in unsized.headers and _decode(unsized.content)[0] == "PNG"


def test_latency_is_real(web: FakeWeb) -> None:
    started = time.monotonic()
    requests.get(f"{web.url}/img/1.jpg?latency_ms=300", timeout=5)
    assert time.monotonic() - started >= 0.3
