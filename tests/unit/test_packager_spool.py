"""Downloaded bodies: small ones in memory, large ones (declared or streamed past the limit) in a file."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from services.packager.fetch import Fetcher, Limits
from services.packager.guard import AddressPolicy, guarded_pool
from services.packager.spool import Body, Spool
from tests.fakeweb import FakeWeb


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as server:
        yield server


def _read(body: Body) -> bytes:
    with body.open() as source:
        return source.read()


def test_a_body_within_the_limit_stays_in_memory(tmp_path: Path) -> None:
    spool = Spool(limit=100, temp_dir=tmp_path)
    spool.write(b"a" * 60)
    spool.write(b"b" * 40)
    body = spool.finish()
    assert body.path is None
    assert _read(body) == b"a" * 60 + b"b" * 40
    assert list(tmp_path.iterdir()) == [], "no file for a small body"


def test_a_body_growing_past_the_limit_goes_to_a_file_whole_and_in_order(tmp_path: Path) -> None:
    spool = Spool(limit=100, temp_dir=tmp_path)
    for part in (b"a" * 60, b"b" * 60, b"c" * 60):
        spool.write(part)
    body = spool.finish()
    assert body.path is not None and body.path.parent == tmp_path
    assert body.data is None
    assert _read(body) == b"a" * 60 + b"b" * 60 + b"c" * 60
    body.discard()
    body.discard()  # idempotent
    assert list(tmp_path.iterdir()) == []


def test_a_body_declared_large_goes_to_a_file_from_the_start(tmp_path: Path) -> None:
    spool = Spool(limit=100, temp_dir=tmp_path, to_file=True)
    spool.write(b"x" * 10)
    body = spool.finish()
    assert body.path is not None
    assert _read(body) == b"x" * 10
    body.discard()
    assert list(tmp_path.iterdir()) == []


def test_an_abandoned_body_leaves_no_file(tmp_path: Path) -> None:
    spool = Spool(limit=10, temp_dir=tmp_path)
    spool.write(b"x" * 50)
    assert len(list(tmp_path.iterdir())) == 1
    spool.abandon()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("no_length", [False, True], ids=["content-length", "streamed"])
def test_the_fetcher_spools_by_size(web: FakeWeb, tmp_path: Path, no_length: bool) -> None:
    fetcher = Fetcher(guarded_pool(AddressPolicy(allow_private=True)), Limits(), per_host=2, temp_dir=tmp_path)
    extra = "&no_length=1" if no_length else ""
    small = fetcher.fetch(f"{web.url}/img/1.jpg?pad_kb=100{extra}")
    large = fetcher.fetch(f"{web.url}/img/2.jpg?pad_kb=600{extra}")  # over the spool's 512 KB
    try:
        assert small.body.path is None and list(tmp_path.iterdir()) == [large.body.path]
        for fetched, url in ((small, f"{web.url}/img/1.jpg?pad_kb=100"), (large, f"{web.url}/img/2.jpg?pad_kb=600")):
            served = requests.get(url, timeout=5).content
            assert _read(fetched.body) == served
            assert (fetched.size, fetched.sha256) == (len(served), hashlib.sha256(served).hexdigest())
    finally:
        small.body.discard()
        large.body.discard()
    assert list(tmp_path.iterdir()) == []


def test_a_detached_body_is_its_new_owners_and_discarding_it_deletes_nothing(tmp_path: Path) -> None:
    spool = Spool(limit=10, temp_dir=tmp_path)
    spool.write(b"x" * 50)
    body = spool.finish()
    data, path = body.detach()
    assert data is None and path is not None and path.read_bytes() == b"x" * 50
    body.discard()
    assert path.exists()
    assert Body(data=b"small").detach() == (b"small", None)
