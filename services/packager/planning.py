"""What goes into the zip and under which name: a job's outcomes in link order, planned one at a time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from services.packager.download import FailedImage, FilteredImage, NotNeeded, Outcome, StoredImage
from services.packager.filtering import not_needed_reason
from services.packager.similar import BITS, distance
from shared.domain.model import Link


@dataclass(frozen=True)
class Entry:
    position: int  # 1-based, in the zip
    name: str  # 0001.jpg
    image: StoredImage


@dataclass(frozen=True)
class Duplicate:
    image: StoredImage
    same_as: str  # the entry name holding the same (or, with `distance`, a similar) picture
    distance: int | None = None  # None: identical bytes; else the perceptual hashes' Hamming distance

    @property
    def reason(self) -> str:
        if self.distance is None:
            return f"same image as {self.same_as}"
        return f"looks like {self.same_as} (perceptual distance {self.distance} of {BITS})"


@dataclass(frozen=True)
class Plan:
    entries: list[Entry]
    failures: list[FailedImage]
    duplicates: list[Duplicate]
    # Images that missed the job's filters, and links (or images) left out once the job had its count.
    filtered: list[FilteredImage] = field(default_factory=list)
    skipped: list[NotNeeded] = field(default_factory=list)
    # A recurring search's run: links whose URL or image an earlier run delivered (services.packager.series).
    already_delivered: list[Link] = field(default_factory=list)

    @property
    def total_bytes(self) -> int:
        return sum(entry.image.size for entry in self.entries)

    def top_reasons(self, n: int = 3) -> str:
        counts = Counter(failure.reason for failure in self.failures)
        return ", ".join(f"{reason} ({count})" if count > 1 else reason for reason, count in counts.most_common(n))


def plan(outcomes: Iterable[Outcome], near_distance: int | None = None, wanted: int | None = None) -> Plan:
    """Order by the links' positions, keep the first of identical images, number what is kept 1..n.

    With `near_distance`, an image whose perceptual hash is within that many bits of a kept one's is
    a duplicate too (a resized or re-encoded copy). With `wanted`, at most that many are kept (the
    earliest links'); later ones are NotNeeded. Deterministic in the outcomes, whatever order the
    downloads finished in, so a redelivered job produces the same names.
    """
    planner = Planner(near_distance, wanted)
    for outcome in sorted(outcomes, key=link_order):
        planner.add(outcome)
    return planner.result()


def link_key(link: Link) -> tuple[int, str]:
    """A link's place in the job: its position, then (for equal positions) its URL. The zip's order."""
    return link.position, link.url


def link_order(outcome: Outcome) -> tuple[int, str]:
    return link_key(outcome.link)


class Planner:
    """`plan`, one outcome at a time in link order: each decision needs only the outcomes before it
    (the first of identical or similar images wins, the count keeps the earliest), so the zip can take
    an image as soon as every link before it is settled, while later ones still download."""

    def __init__(self, near_distance: int | None = None, wanted: int | None = None) -> None:
        self._near = near_distance
        self._wanted = wanted
        self._ordered: list[Outcome] = []
        self._entries: list[Entry] = []
        self._duplicates: list[Duplicate] = []
        self._cut: list[NotNeeded] = []
        self._by_digest: dict[str, str] = {}
        self._hashed: list[tuple[int, str]] = []  # (perceptual hash, entry name) of kept images

    def add(self, outcome: Outcome) -> Entry | None:
        """The zip entry for `outcome` if it is kept; outcomes must come in `link_order`."""
        self._ordered.append(outcome)
        if isinstance(outcome, FailedImage):
            return None
        if self._wanted is not None and len(self._entries) >= self._wanted:
            self._cut.append(NotNeeded(outcome.link, not_needed_reason(self._wanted)))
            return None
        if outcome.sha256 in self._by_digest:
            self._duplicates.append(Duplicate(outcome, self._by_digest[outcome.sha256]))
            return None
        if self._near is not None and outcome.phash is not None:
            similar = _closest(outcome.phash, self._hashed)
            if similar is not None and similar[0] <= self._near:
                self._duplicates.append(Duplicate(outcome, similar[1], similar[0]))
                return None
        position = len(self._entries) + 1
        entry = Entry(position, f"{position:04d}.{outcome.ext}", outcome)
        self._by_digest[outcome.sha256] = entry.name
        if outcome.phash is not None:
            self._hashed.append((outcome.phash, entry.name))
        self._entries.append(entry)
        return entry

    def result(self) -> Plan:
        ordered = self._ordered
        failures = [o for o in ordered if isinstance(o, FailedImage) and not isinstance(o, FilteredImage | NotNeeded)]
        filtered = [o for o in ordered if isinstance(o, FilteredImage)]
        skipped = self._cut + [o for o in ordered if isinstance(o, NotNeeded)]
        skipped.sort(key=lambda o: o.link.position)
        return Plan(list(self._entries), failures, list(self._duplicates), filtered, skipped)


def _closest(phash: int, hashed: list[tuple[int, str]]) -> tuple[int, str] | None:
    """The kept image nearest to `phash` (the earliest of equals), with its distance."""
    best: tuple[int, str] | None = None
    for other, name in hashed:
        d = distance(phash, other)
        if best is None or d < best[0]:
            best = (d, name)
    return best
