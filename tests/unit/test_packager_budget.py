"""The byte budget that bounds uploads in flight, alone and inside the downloader."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from services.packager.budget import ByteBudget
from services.packager.download import Downloaded, Downloader, StoredImage
from services.packager.guard import AddressPolicy
from shared.domain.model import Link
from tests.fakeweb import FakeWeb


def _hold_in_thread(
    budget: ByteBudget, size: int, release: threading.Event
) -> tuple[threading.Thread, threading.Event]:
    entered = threading.Event()

    def run() -> None:
        with budget.hold(size):
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, entered


def test_holders_wait_until_their_bytes_fit() -> None:
    budget = ByteBudget(16)
    release_first, release_second = threading.Event(), threading.Event()
    first, first_in = _hold_in_thread(budget, 10, release_first)
    assert first_in.wait(5)
    second, second_in = _hold_in_thread(budget, 10, release_second)
    small, small_in = _hold_in_thread(budget, 6, release_second)
    assert small_in.wait(5), "6 more bytes fit beside the first 10"
    assert not second_in.wait(0.3), "10 more bytes do not fit while the first 10 are held"
    assert budget.held == 16
    release_first.set()
    assert second_in.wait(5)
    release_second.set()
    for thread in (first, second, small):
        thread.join(5)
    assert budget.held == 0


def test_one_holder_may_exceed_the_limit_alone() -> None:
    budget = ByteBudget(16)
    with budget.hold(100):
        assert budget.held == 100
    assert budget.held == 0


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as server:
        yield server


def test_uploads_in_flight_stay_within_the_budget(web: FakeWeb) -> None:
    lock = threading.Lock()
    in_flight: list[int] = []
    peaks: list[int] = []

    def slow_keep(image: Downloaded) -> StoredImage:
        with lock:
            in_flight.append(image.fetched.size)
            peaks.append(sum(in_flight))
        time.sleep(0.05)  # an upload taking a while, so that others would overlap it
        with lock:
            in_flight.remove(image.fetched.size)
        return StoredImage(image.link, "k", image.info.ext, image.info.content_type, 1, 1, image.fetched.size, "s")

    budget = 250 * 1024  # one 150 KB image at a time, or several small ones
    downloader = Downloader(AddressPolicy(allow_private=True), concurrency=16, store_budget=budget)
    big = [Link(position=n, url=f"{web.url}/img/{n}.png?pad_kb=150") for n in range(1, 9)]
    small = [Link(position=n, url=f"{web.url}/img/{n}.png?size=32") for n in range(9, 25)]
    outcomes = list(downloader.download(big + small, slow_keep))
    assert len(outcomes) == 24 and all(isinstance(o, StoredImage) for o in outcomes)
    assert max(peaks) <= budget
    assert max(peaks) > 150 * 1024, "small images uploaded beside a large one"
