"""The manifests that describe a job's zip: what it holds, and why each other link is not in it."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from services.packager.download import FailedImage, FilteredImage, StoredImage
from services.packager.planning import Plan
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
