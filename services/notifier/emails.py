"""The three emails a person can get about a job, rendered in plain text and HTML."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from services.notifier.series import series_links
from shared.config import Settings
from shared.domain.emails import FAILED, READY, STARTED
from shared.domain.model import Job
from shared.domain.submission import UNSAFE_CATEGORIES
from shared.ports.mail import OutgoingMail
from shared.signing import retry_signature
from shared.tokens import download_token
from shared.unsubscribe import unsubscribe_token

_env = Environment(
    loader=PackageLoader("services.notifier", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    keep_trailing_newline=True,
)

SUBJECTS = {
    STARTED: "Started: your images for “{query}” are on their way",
    READY: "Ready: your {images} images for “{query}”",
    FAILED: "Failed: your image search for “{query}”",
}


def local_time(moment: datetime | None, zone: str) -> str:
    if moment is None:
        return ""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%a %d %b %Y, %H:%M} ({zone})"


SUBJECT_QUERY_LENGTH = 60
SUBJECT_FALLBACK = "your search"
MESSAGE_ID_HOST = "imgjob.local"


def safe_text(text: str) -> str:
    """`text` with every unsafe character replaced by a space, whitespace runs collapsed and stripped."""
    return " ".join("".join(" " if unicodedata.category(c) in UNSAFE_CATEGORIES else c for c in text).split())


def _continues(char: str) -> bool:
    """Whether `char` belongs to the character before it: a combining mark or an emoji skin tone."""
    return unicodedata.category(char).startswith("M") or "\U0001f3fb" <= char <= "\U0001f3ff"


def _short(text: str, limit: int = SUBJECT_QUERY_LENGTH) -> str:
    """`text` in at most `limit` characters, "…" included when cut, never between a letter and its accents."""
    if len(text) <= limit:
        return text
    cut = limit - 1
    while cut > 0 and _continues(text[cut]):
        cut -= 1
    if cut == 0:  # nothing but marks: cut anywhere rather than nowhere
        cut = limit - 1
    return text[:cut].rstrip() + "…"


def subject_query(query: str) -> str:
    """The query as it appears in a subject: one short line of printable text, never empty."""
    return _short(safe_text(query)) or SUBJECT_FALLBACK


def message_id(job_id: str, kind: str, public_url: str) -> str:
    """`<job.kind@host>`, the same for every send of one email, with the host of the public URL."""
    try:
        host = urlsplit(public_url).hostname or ""
        host = host.encode("idna").decode("ascii") if host else ""
    except (ValueError, UnicodeError):
        host = ""
    if ":" in host:  # an IPv6 address is a domain literal
        host = f"[{host}]"
    return f"<{job_id}.{kind}@{host or MESSAGE_ID_HOST}>"


def unsubscribe_headers(email: str, settings: Settings) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: mail clients show an "Unsubscribe" button that POSTs
    `List-Unsubscribe=One-Click` to the link; the link's token names the mailbox only as a keyed hash."""
    token = unsubscribe_token(settings.secret_key, email)
    return {
        "List-Unsubscribe": f"<{settings.public_url.rstrip('/')}/unsubscribe/{token}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def render(kind: str, job: Job, settings: Settings) -> OutgoingMail:
    context = {
        "job": job,
        "query": safe_text(job.query),
        "reason": safe_text(job.failure_reason or ""),
        "note": safe_text(job.note or ""),
        "status_url": f"{settings.public_url}/jobs/{job.id}",
        "download_url": f"{settings.public_url}/download/{download_token(settings.secret_key, job.id)}"
        if job.token_hash
        else "",
        "again_url": f"{settings.public_url}/jobs/{job.id}/again?sig={retry_signature(settings.secret_key, job.id)}",
        "expires": local_time(job.expires_at, job.timezone),
        "scheduled": local_time(job.scheduled_at, job.timezone),
        "images": job.progress.images_downloaded,
        # The job's filters for people ("size large, min width 800"), only when it has some.
        "filters": "" if job.filters.describe() == "none" else job.filters.describe(),
        **series_links(job, settings),
    }
    subject = SUBJECTS[kind].format(query=subject_query(job.query), images=context["images"])
    return OutgoingMail(
        to=job.email,
        subject=subject,
        text=_env.get_template(f"{kind}.txt").render(context),
        html=_env.get_template(f"{kind}.html").render(context),
        job_id=job.id,
        kind=kind,
        message_id=message_id(job.id, kind, settings.public_url),
        headers=unsubscribe_headers(job.email, settings),
    )
