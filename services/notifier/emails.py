"""The three emails a person can get about a job, rendered in plain text and HTML."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from shared.config import Settings
from shared.domain.model import Job
from shared.ports.mail import OutgoingMail
from shared.signing import retry_signature

STARTED = "started"
READY = "ready"
FAILED = "failed"

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


def _short(query: str) -> str:
    return query if len(query) <= 60 else query[:57] + "..."


def render(kind: str, job: Job, settings: Settings) -> OutgoingMail:
    context = {
        "job": job,
        "status_url": f"{settings.public_url}/jobs/{job.id}",
        "download_url": f"{settings.public_url}/download/{job.download_token}" if job.download_token else "",
        "again_url": f"{settings.public_url}/jobs/{job.id}/again?sig={retry_signature(settings.secret_key, job.id)}",
        "expires": local_time(job.expires_at, job.timezone),
        "scheduled": local_time(job.scheduled_at, job.timezone),
        "images": job.progress.images_downloaded,
    }
    subject = SUBJECTS[kind].format(query=_short(job.query), images=context["images"])
    return OutgoingMail(
        to=job.email,
        subject=subject,
        text=_env.get_template(f"{kind}.txt").render(context),
        html=_env.get_template(f"{kind}.html").render(context),
    )
