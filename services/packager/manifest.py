"""What goes into the zip and under which name, and the manifests that describe it."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from services.packager.download import FailedImage, FilteredImage, NotNeeded, Outcome, StoredImage
from services.packager.filtering import not_needed_reason
from services.packager.similar import BITS, distance
from shared.domain.filters import Filters
from shared.domain.model import Job, Link

CSV_COLUMNS = (
    "status",
    "position",
    "file",
    "link_position",
    "url",
    "page_url",
    "provider",
    "width",
    "height",
    "bytes",
    "content_type",
    "sha256",
    "reason",
)


ALREADY_DELIVERED = "delivered by an earlier run of this series"


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
    ordered = sorted(outcomes, key=lambda o: (o.link.position, o.link.url))
    entries: list[Entry] = []
    duplicates: list[Duplicate] = []
    skipped: list[NotNeeded] = []
    by_digest: dict[str, str] = {}
    hashed: list[tuple[int, str]] = []  # (perceptual hash, entry name) of kept images
    for outcome in ordered:
        if isinstance(outcome, FailedImage):
            continue
        if wanted is not None and len(entries) >= wanted:
            skipped.append(NotNeeded(outcome.link, not_needed_reason(wanted)))
            continue
        if outcome.sha256 in by_digest:
            duplicates.append(Duplicate(outcome, by_digest[outcome.sha256]))
            continue
        if near_distance is not None and outcome.phash is not None:
            similar = _closest(outcome.phash, hashed)
            if similar is not None and similar[0] <= near_distance:
                duplicates.append(Duplicate(outcome, similar[1], similar[0]))
                continue
        position = len(entries) + 1
        name = f"{position:04d}.{outcome.ext}"
        by_digest[outcome.sha256] = name
        if outcome.phash is not None:
            hashed.append((outcome.phash, name))
        entries.append(Entry(position, name, outcome))
    failures = [o for o in ordered if isinstance(o, FailedImage) and not isinstance(o, FilteredImage | NotNeeded)]
    filtered = [o for o in ordered if isinstance(o, FilteredImage)]
    skipped += [o for o in ordered if isinstance(o, NotNeeded)]
    skipped.sort(key=lambda o: o.link.position)
    return Plan(entries, failures, duplicates, filtered, skipped)


def _closest(phash: int, hashed: list[tuple[int, str]]) -> tuple[int, str] | None:
    """The kept image nearest to `phash` (the earliest of equals), with its distance."""
    best: tuple[int, str] | None = None
    for other, name in hashed:
        d = distance(phash, other)
        if best is None or d < best[0]:
            best = (d, name)
    return best


def _image_fields(image: StoredImage) -> dict[str, Any]:
    return {
        "link_position": image.link.position,
        "url": image.link.url,
        "page_url": image.link.page_url,
        "provider": image.link.provider,
        "width": image.width,
        "height": image.height,
        "bytes": image.size,
        "content_type": image.content_type,
        "sha256": image.sha256,
    }


def _left_out(item: FailedImage, status: str) -> dict[str, Any]:
    """A link whose image is not in the zip though nothing failed: filtered out, or not needed."""
    link = item.link
    found = {"position": link.position, "url": link.url, "page_url": link.page_url, "provider": link.provider}
    if isinstance(item, FilteredImage):
        found |= {"width": item.width, "height": item.height, "bytes": item.size, "content_type": item.content_type}
    return {"status": status, **found, "reason": item.reason}


def _delivered_row(link: Link) -> dict[str, Any]:
    """A link left out because an earlier run of the series delivered its URL or its image."""
    return {
        "status": "already_delivered",
        "position": link.position,
        "url": link.url,
        "page_url": link.page_url,
        "provider": link.provider,
        "reason": ALREADY_DELIVERED,
    }


def manifest_json(job: Job, package: Plan, engine_filters: dict[str, Any] | None = None) -> bytes:
    document: dict[str, Any] = {
        "job_id": job.id,
        "query": job.query,
        "images": [{"position": e.position, "file": e.name, **_image_fields(e.image)} for e in package.entries],
        "failed": [
            {
                "position": f.link.position,
                "url": f.link.url,
                "page_url": f.link.page_url,
                "provider": f.link.provider,
                "reason": f.reason,
            }
            for f in package.failures
        ],
        "duplicates": [
            {"same_as": d.same_as, "distance": d.distance, "reason": d.reason, **_image_fields(d.image)}
            for d in package.duplicates
        ],
    }
    if job.filters != Filters():
        # The job's filters, what each engine was given of them, and what they left out.
        document["filters"] = job.filters.to_dict()
        document["engine_filters"] = engine_filters or {}
        document["filtered"] = [_left_out(item, "filtered") for item in package.filtered]
    if package.skipped:
        document["skipped"] = [_left_out(item, "skipped") for item in package.skipped]
    if job.series_id:
        document["series_id"] = job.series_id
        document["skipped_as_delivered"] = len(package.already_delivered)
        document["already_delivered"] = [_delivered_row(link) for link in package.already_delivered]
    return json.dumps(document, indent=2, ensure_ascii=False).encode()


def manifest_csv(package: Plan) -> bytes:
    """One row per link: `ok` rows name their file, `failed` rows their reason, `duplicate` rows the
    file that holds the same bytes. Positions of failed rows are the links' positions."""
    rows: list[dict[str, Any]] = []
    for entry in package.entries:
        rows.append({"status": "ok", "position": entry.position, "file": entry.name, **_image_fields(entry.image)})
    for failure in package.failures:
        link = failure.link
        rows.append(
            {
                "status": "failed",
                "position": link.position,
                "link_position": link.position,
                "url": link.url,
                "page_url": link.page_url,
                "provider": link.provider,
                "reason": failure.reason,
            }
        )
    for dup in package.duplicates:
        rows.append(
            {
                "status": "duplicate",
                "file": dup.same_as,
                "reason": dup.reason,
                **_image_fields(dup.image),
            }
        )
    for item, status in [(f, "filtered") for f in package.filtered] + [(s, "skipped") for s in package.skipped]:
        row = _left_out(item, status)
        rows.append(row | {"link_position": row["position"]})
    rows += [_delivered_row(link) | {"link_position": link.position} for link in package.already_delivered]
    rows.sort(key=lambda row: row["link_position"])
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({key: "" if row.get(key) is None else row.get(key) for key in CSV_COLUMNS})
    # A BOM so spreadsheet programs read the URLs' non-ASCII characters as UTF-8.
    return out.getvalue().encode("utf-8-sig")
