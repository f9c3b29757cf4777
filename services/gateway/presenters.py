"""How a job is shown: times in the person's zone, sizes, the JSON form, the zip's file name."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.domain.emails import KINDS, UNSUBSCRIBED, EmailRecord, EmailState
from shared.domain.model import Job, JobStatus
from shared.tokens import download_token

STATUS_LABELS: dict[JobStatus, str] = {
    JobStatus.SCHEDULED: "Scheduled",
    JobStatus.RUNNING: "Searching for images",
    JobStatus.PACKAGING: "Downloading and packing",
    JobStatus.READY: "Ready to download",
    JobStatus.EXPIRED: "Expired",
    JobStatus.FAILED: "Failed",
    JobStatus.CANCELLED: "Cancelled",
}
SLUG_MAX = 40
EMAIL_LABELS: dict[EmailState, str] = {
    EmailState.PENDING: "sending",
    EmailState.RETRYING: "the mail server deferred it; trying again",
    EmailState.SENT: "sent",
    EmailState.REFUSED: "refused by the mail server",
    EmailState.UNDELIVERED: "could not be delivered while the link worked",
}


def expiry_label(status: JobStatus) -> str:
    """What `expires_at` means for the job: its link's end, or, with no link, when its record is deleted."""
    if status is JobStatus.READY:
        return "Link expires"
    if status is JobStatus.EXPIRED:
        return "Link expired"
    return "Kept until"


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def format_time(when: datetime | None, zone_name: str) -> str:
    """Like "Tue 24 Nov 2026, 14:05 (Europe/Paris)"; empty for no time."""
    if when is None:
        return ""
    tz = zone(zone_name)
    local = when.astimezone(tz)
    return f"{local:%a} {local.day} {local:%b %Y, %H:%M} ({tz.key})"


def human_bytes(size: int) -> str:
    """Decimal units, as file managers show them: "950 B", "3.2 MB"."""
    if size < 1000:
        return f"{size} B"
    value = size / 1000
    for unit in ("KB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat()


def download_path(job: Job, now: datetime, secret_key: str) -> str | None:
    """The job's download link while it works (ready, and not past its expiry even if not yet purged)."""
    if job.status is not JobStatus.READY or not job.token_hash:
        return None
    if job.expires_at is not None and job.expires_at <= now:
        return None
    return f"/download/{download_token(secret_key, job.id)}"


def _email_label(record: EmailRecord) -> str:
    if record.state is EmailState.REFUSED and record.detail == UNSUBSCRIBED:
        return "not sent: the address unsubscribed from imgjob emails"
    return EMAIL_LABELS[record.state]


def emails_view(records: Mapping[str, EmailRecord]) -> list[dict[str, Any]]:
    """Each email tried so far, in the order a person gets them: kind, state, words for it, tries."""
    return [
        {
            "kind": kind,
            "state": records[kind].state.value,
            "label": _email_label(records[kind]),
            "attempts": records[kind].attempts,
            "detail": records[kind].detail,
        }
        for kind in KINDS
        if kind in records
    ]


def job_json(
    job: Job, public_url: str, now: datetime, emails: Mapping[str, EmailRecord], secret_key: str
) -> dict[str, Any]:
    """The API's view of a job. The email address is deliberately absent: ids travel in URLs."""
    path = download_path(job, now, secret_key)
    return {
        "id": job.id,
        "status": job.status.value,
        "query": job.query,
        "count": job.count,
        "timezone": job.timezone,
        "scheduled_at": _iso(job.scheduled_at),
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
        "progress": {
            "links_found": job.progress.links_found,
            "images_downloaded": job.progress.images_downloaded,
            "images_failed": job.progress.images_failed,
            "bytes_downloaded": job.progress.bytes_downloaded,
        },
        "failure_reason": job.failure_reason,
        "note": job.note,
        "expires_at": _iso(job.expires_at),
        "zip_bytes": job.zip_bytes,
        "status_url": f"{public_url}/jobs/{job.id}",
        "download_url": f"{public_url}{path}" if path else None,
        "emails": emails_view(emails),
        "series_id": job.series_id,
        # What the job asked for ({"safe": "moderate"} when nothing was chosen).
        "filters": job.filters.to_dict(),
    }


def slugify(text: str) -> str:
    """Lowercase ASCII letters, digits and single hyphens only: safe in any file name or header."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    return slug[:SLUG_MAX].rstrip("-")


def download_filename(job: Job) -> str:
    return f"imgjob-{slugify(job.query) or 'images'}-{job.id[:8]}.zip"
