"""Helpers only the gateway tests need (no tests here): CSRF tokens and form posts, the metrics page, and
what a submission stored. The clock, adapters, jobs and event recorder are tests/support's."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from shared.domain.model import Job, JobStatus


def metric(text: str, name: str, labels: str = "") -> float:
    """One sample of a Prometheus text exposition; 0 when the series is absent."""
    match = re.search(rf"^{re.escape(name + labels)} (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


CSRF_INPUT_RE = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]+)">')


def csrf_token(client: FlaskClient, page: str = "/") -> str:
    """The session's CSRF token, read from the hidden input of a page, as a browser would have it."""
    match = CSRF_INPUT_RE.search(client.get(page).get_data(as_text=True))
    assert match, f"no CSRF input on {page}"
    return match.group(1)


def post_form(client: FlaskClient, path: str, data: Mapping[str, str] | None = None, **kwargs: Any) -> TestResponse:
    """A form post as the page makes it: with the token of the client's session."""
    return client.post(path, data={**(data or {}), "csrf_token": csrf_token(client)}, **kwargs)


def submitted(job: Job) -> tuple[JobStatus, str, str, int, str]:
    """What a submission decided of the job it stored: status, query, email, count and time zone."""
    return (job.status, job.query, job.email, job.count, job.timezone)
