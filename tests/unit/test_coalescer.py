"""Group commit (shared.coalescer): calls that wait together go together, each gets its own
result, a quiet caller does not wait, and one bad call fails alone."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

import pytest

from shared.coalescer import Coalescer
from tests.support import wait_until

T = TypeVar("T")


class Gated:
    """A flush that records each batch and, while `gate` is clear, blocks until it is set."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.gate = threading.Event()
        self.entered = threading.Event()

    def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        self.entered.set()
        self.gate.wait(timeout=10)
        if any(item < 0 for item in items):
            raise ValueError(f"negative in {items}")
        return [item * 10 for item in items]


def held_then(coalescer: Coalescer[int, int], flush: Gated, first: int, rest: list[int]) -> list[Future[int]]:
    """`first` called and held in its flush, then `rest` called, each waiting behind it; then let go.
    The futures of every call, first included, in that order."""
    pool = ThreadPoolExecutor(1 + len(rest))
    futures = [pool.submit(coalescer.call, first)]
    assert flush.entered.wait(timeout=5)
    futures += [pool.submit(coalescer.call, n) for n in rest]
    wait_until(lambda: len(coalescer._waiting) == len(rest), timeout=5, what=f"{len(rest)} waiting calls")
    flush.gate.set()
    pool.shutdown(wait=False)
    return futures


def test_a_lone_call_is_flushed_at_once_by_itself() -> None:
    flush = Gated()
    flush.gate.set()
    assert Coalescer(flush).call(7) == 70
    assert flush.batches == [[7]]


def test_calls_that_wait_while_a_flush_runs_go_together_and_each_gets_its_own_result() -> None:
    flush = Gated()
    futures = held_then(Coalescer(flush), flush, 1, list(range(2, 10)))
    assert [future.result(timeout=5) for future in futures] == [n * 10 for n in range(1, 10)]
    assert flush.batches == [[1], list(range(2, 10))]


def test_a_batch_holds_at_most_max_batch_calls() -> None:
    flush = Gated()
    futures = held_then(Coalescer(flush, max_batch=3), flush, 0, list(range(1, 8)))
    assert [future.result(timeout=5) for future in futures] == [n * 10 for n in range(8)]
    assert [len(batch) for batch in flush.batches] == [1, 3, 3, 1]
    assert sorted(item for batch in flush.batches for item in batch) == list(range(8))


def test_one_bad_call_fails_alone_and_the_others_of_its_batch_succeed() -> None:
    flush = Gated()
    *good, bad = held_then(Coalescer(flush), flush, 1, [2, 3, 4, -1])
    assert [future.result(timeout=5) for future in good] == [10, 20, 30, 40]
    with pytest.raises(ValueError, match="negative in \\[-1\\]"):
        bad.result(timeout=5)
    # The batch failed as a whole, then each of its calls went again alone.
    assert sorted(flush.batches[1]) == [-1, 2, 3, 4]
    assert sorted(flush.batches[2:]) == [[-1], [2], [3], [4]]


def test_a_flush_returning_the_wrong_number_of_results_is_an_error() -> None:
    coalescer: Coalescer[int, int] = Coalescer(lambda items: [])
    with pytest.raises(RuntimeError, match="returned 0 results"):
        coalescer.call(1)


def test_many_threads_each_get_their_own_answer() -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def flush(items: list[int]) -> list[int]:
        with lock:
            seen.extend(items)
        return [item + 1 for item in items]

    coalescer = Coalescer(flush, max_batch=16)
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(coalescer.call, range(2000)))
    assert results == [n + 1 for n in range(2000)]
    assert sorted(seen) == list(range(2000))


def recording(batches: list[list[str]]) -> Callable[[list[str]], list[str]]:
    def flush(items: list[str]) -> list[str]:
        batches.append(list(items))
        return items

    return flush


def lingering_for_one_coming(coalescer: Coalescer[str, str], then: Callable[[], T], item: str) -> tuple[T, str]:
    """A thread inside `coming()` (parsing its request) while `item` is called; once that call waits for
    it, the thread goes on with `then`. What `then` returned and what the call did."""
    inside, release = threading.Event(), threading.Event()

    def comer() -> T:
        with coalescer.coming():
            inside.set()
            release.wait(timeout=10)
            return then()

    with ThreadPoolExecutor(2) as pool:
        other = pool.submit(comer)
        assert inside.wait(timeout=5)
        mine = pool.submit(coalescer.call, item)
        wait_until(lambda: coalescer._lingering, timeout=5, what=f"{item!r} to wait for the thread coming")
        release.set()
        return other.result(timeout=5), mine.result(timeout=5)  # long before the 30 s linger


def test_a_group_waits_for_a_thread_that_said_it_is_coming() -> None:
    batches: list[list[str]] = []
    coalescer: Coalescer[str, str] = Coalescer(recording(batches), linger=30)
    late, early = lingering_for_one_coming(coalescer, lambda: coalescer.call("late"), "early")
    assert (early, late) == ("early", "late")
    assert batches == [["early", "late"]]


def test_a_thread_that_came_but_did_not_call_lets_the_group_go() -> None:
    batches: list[list[str]] = []
    coalescer: Coalescer[str, str] = Coalescer(recording(batches), linger=30)
    # An invalid request: answered without a call.
    _, alone = lingering_for_one_coming(coalescer, lambda: None, "alone")
    assert alone == "alone"
    assert batches == [["alone"]]
