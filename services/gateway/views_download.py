"""`/download/<token>`: the zip, streamed from object storage, with single-range requests."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Blueprint, Response, render_template, request, url_for

from services.gateway import presenters
from services.gateway.commands import DownloadStatus, download_state
from services.gateway.state import adapters, metrics
from shared.domain.model import Job

bp = Blueprint("download", __name__)

# One range only; more digits than any object could need would only feed int() something huge.
RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d{0,19})\s*-\s*(\d{0,19})\s*$", re.IGNORECASE)


class Unsatisfiable(ValueError):
    """A well-formed range that lies wholly past the end of the object."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The requested byte range, or None to send the whole object.

    Malformed and multi-range headers are ignored (RFC 9110 allows it) and get the whole object;
    a range starting past the end raises Unsatisfiable (416).
    """
    if not header:
        return None
    match = RANGE_RE.match(header)
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first:
        if not last:
            return None
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable(header)
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        raise Unsatisfiable(header)
    return ByteRange(start, min(int(last), size - 1) if last else size - 1)


def _etag(job: Job, size: int) -> str:
    # The zip of a job is written once under a deterministic key, so id and size identify it.
    return f'"{job.id}-{size}"'


def _expired(job: Job | None) -> tuple[str, int]:
    """The 410 page. Until the janitor purges the job its query is still known, so offer it again;
    after the purge only a hash of the token is left and the page can only offer an empty form."""
    metrics().expired_hits.inc()
    again_url = url_for("pages.form", query=job.query, count=job.count, now=1) if job is not None else None
    return render_template("expired.html", again_url=again_url), 410


@bp.get("/download/<token>")
def download(token: str) -> Response | tuple[str, int]:
    found = adapters()
    status, job = download_state(found, token)
    if status is DownloadStatus.NOT_FOUND:
        return render_template("not_found.html", message="There is no download at this address."), 404
    size = found.blobs.size(job.zip_key) if status is DownloadStatus.READY and job is not None else None
    if job is None or size is None:
        return _expired(job)

    etag = _etag(job, size)
    headers = {
        "Content-Type": "application/zip",
        "Content-Disposition": f'attachment; filename="{presenters.download_filename(job)}"',
        "Accept-Ranges": "bytes",
        "ETag": etag,
        # The link is a secret: no shared cache may keep the file.
        "Cache-Control": "private, no-store",
    }
    if_range = request.headers.get("If-Range")
    try:
        wanted = parse_range(request.headers.get("Range"), size) if if_range in (None, etag) else None
    except Unsatisfiable:
        headers["Content-Range"] = f"bytes */{size}"
        return Response(b"", status=416, headers=headers)

    if wanted is None:
        body, code, length = found.blobs.read(job.zip_key), 200, size
    else:
        body, code, length = found.blobs.read(job.zip_key, wanted.start, wanted.length), 206, wanted.length
        headers["Content-Range"] = f"bytes {wanted.start}-{wanted.end}/{size}"
    headers["Content-Length"] = str(length)
    metrics().downloads.inc()
    return Response(body, status=code, headers=headers, direct_passthrough=True)
