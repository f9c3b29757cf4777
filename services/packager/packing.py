"""Zipping while downloading: each image goes into the zip once every link before it is settled.

The zip's order is the links' order and each plan decision needs only the outcomes before it
(services.packager.planning), so the image of link n can be zipped as soon as links 1..n have their
outcomes, whatever order the downloads finish in. Images then leave the job's staging early, and
when the last download ends only what came after the slowest link is left to zip: the zip costs the
job little time beyond its downloads, and the staging stays small.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from services.packager.archive import ZipWriter
from services.packager.download import Outcome, StoredImage
from services.packager.planning import Plan, Planner, link_key
from services.packager.staging import Staging
from shared.domain.model import Link


class InOrder:
    """Takes a job's outcomes in any order; plans and zips them in link order as they settle.

    `links` are the links whose outcomes will come, each exactly once. An image not kept (a duplicate,
    past the count) leaves the staging as soon as that is known; a kept one once it is in the zip.
    The staging is told which link comes next (`Staging.settling`): downloads of later links may wait
    for room while the zip is behind, never that one, so the zip always moves on. That holds as long as
    the downloads start in link order, as the Downloader's pool does.
    """

    def __init__(self, links: Iterable[Link], planner: Planner, staging: Staging, out: ZipWriter) -> None:
        self._order: Sequence[tuple[int, str]] = sorted(link_key(link) for link in links)
        self._next = 0
        self._waiting: dict[tuple[int, str], Outcome] = {}
        self._planner = planner
        self._staging = staging
        self._out = out
        self._tell_staging()

    @property
    def settled(self) -> int:
        """How many links, from the first, are planned (and their kept images zipped)."""
        return self._next

    def add(self, outcome: Outcome) -> None:
        self._waiting[link_key(outcome.link)] = outcome
        settled = self._next
        while self._next < len(self._order):
            ready = self._waiting.pop(self._order[self._next], None)
            if ready is None:
                break  # an earlier link is still downloading
            self._next += 1
            self._settle(ready)
        if self._next != settled:
            self._tell_staging()

    def _tell_staging(self) -> None:
        """Which link the zip waits for now: its image must never wait for room in the staging."""
        self._staging.settling(self._order[self._next][0] if self._next < len(self._order) else None)

    def _settle(self, outcome: Outcome) -> None:
        entry = self._planner.add(outcome)
        if not isinstance(outcome, StoredImage):
            return
        try:
            if entry is not None:
                self._out.add(entry, self._staging.read(outcome.key))
        finally:
            self._staging.release(outcome.key)

    def plan(self) -> Plan:
        """The plan of every link's outcome; all of them must have come."""
        if self._next < len(self._order) or self._waiting:
            raise RuntimeError(f"{len(self._order) - self._next} links have no outcome yet")
        return self._planner.result()
