"""The HTML pages: the form, its submission, the status page, the retry page and cancelling."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from services.gateway import csrf, filter_form, presenters
from services.gateway.commands import NotCancellable, Unsubscribed, cancel_job
from services.gateway.ratelimit import Refusal, retry_after_header
from services.gateway.state import adapters, client_address, intake, is_job_id, metrics
from shared.domain.model import Job, JobStatus
from shared.domain.recurrence import DEFAULT_UNTIL
from shared.domain.submission import (
    MAX_AHEAD,
    MAX_COUNT,
    MAX_EMAIL_LENGTH,
    MAX_QUERY_LENGTH,
    Submission,
    SubmissionErrors,
    validate_form,
)
from shared.signing import is_valid_retry_signature

bp = Blueprint("pages", __name__)

# The form's repeat choices (shared.domain.recurrence reads the values).
REPEAT_CHOICES = (("never", "never"), ("day", "every day"), ("week", "every week"), ("month", "every month"))

DEFAULT_COUNT = "50"
FORM_FIELDS = ("query", "email", "count", "date", "time", "timezone", "repeat", "until")
# Everything the form sends; anything else did not come from our page.
KNOWN_FIELDS = frozenset({*FORM_FIELDS, *filter_form.FIELDS, "now", csrf.FIELD})
TRUE_WORDS = frozenset({"1", "true", "yes", "on"})
PageResult = tuple[str, int] | str | WerkzeugResponse


def _form_values(source: Mapping[str, str], *, default_count: str = "") -> dict[str, Any]:
    values: dict[str, Any] = {name: source.get(name, "") for name in FORM_FIELDS}
    values["filters"] = filter_form.values_from(source)
    values["count"] = values["count"] or default_count
    values["now"] = source.get("now", "").strip().lower() in TRUE_WORDS
    return values


def _render_form(values: dict[str, Any], errors: Mapping[str, str] | None = None, retry_of: Job | None = None) -> str:
    return render_template(
        "form.html",
        values=values,
        errors=dict(errors or {}),
        retry_of=retry_of,
        max_count=MAX_COUNT,
        max_query=MAX_QUERY_LENGTH,
        max_email=MAX_EMAIL_LENGTH,
        max_ahead_days=MAX_AHEAD.days,
        repeat_choices=REPEAT_CHOICES,
        default_until_days=DEFAULT_UNTIL.days,
        filter_choices=filter_form.choices(),
        filters_open=filter_form.is_open(values.get("filters", {}), errors or {}),
        **filter_form.TEMPLATE_GLOBALS,
    )


def _not_found(message: str) -> tuple[str, int]:
    return render_template("not_found.html", message=message), 404


JOB_GONE = "There is no such job. It may have expired, and its records have been deleted."


@bp.before_request
def check_csrf() -> PageResult | None:
    """Every form post of these pages must carry the session's token; a refusal keeps what was typed."""
    if csrf.request_is_valid():
        return None
    metrics().csrf_failures.inc()
    if request.endpoint == "pages.submit":
        return _render_form(_form_values(request.form), {"body": csrf.EXPIRED_FORM}), 400
    job_id = (request.view_args or {}).get("job_id", "")
    back = url_for("pages.status", job_id=job_id) if is_job_id(str(job_id)) else url_for("pages.form")
    return csrf.refused_button(back)


def _too_many(values: dict[str, Any], refusal: Refusal) -> WerkzeugResponse:
    metrics().rate_limited.labels("form", refusal.limit).inc()
    field = "email" if refusal.limit == "email" else "body"
    response = Response(_render_form(values, {field: refusal.message}), status=429, mimetype="text/html")
    response.headers["Retry-After"] = retry_after_header(refusal.retry_after)
    return response


def _unknown_fields(raw: Mapping[str, str]) -> dict[str, str]:
    unknown = sorted(set(raw) - KNOWN_FIELDS)
    if not unknown:
        return {}
    names = ", ".join(name[:40] for name in unknown[:5])
    return {"body": f"The form sent fields it does not have ({names}). Reload the page and try again."}


@bp.get("/")
def form() -> str:
    """The empty form; `?query=&count=&email=&now=1` pre-fill it (links from elsewhere, the failed email)."""
    return _render_form(_form_values(request.args, default_count=DEFAULT_COUNT))


def _submission(raw: dict[str, str]) -> Submission | dict[str, str]:
    """The form's valid submission, or the message of each field that is wrong."""
    unknown = _unknown_fields(raw)
    if unknown:
        return unknown
    try:
        return validate_form(raw, adapters().clock())
    except SubmissionErrors as exc:
        return exc.errors
    except OverflowError:
        # A date at the edge of the calendar (year 9999 in a zone behind UTC) has no UTC equivalent.
        return {"date": f"Choose a date within {MAX_AHEAD.days} days."}


@bp.post("/jobs")
def submit() -> PageResult:
    raw = filter_form.form_fields(request.form)  # every ticked format, one value for the rest
    with intake().arriving():
        values = _form_values(raw)
        submission = _submission(raw)
        # Every attempt is counted, valid or not (each costs us work); a valid one for its mailbox too.
        job = intake().submit(client_address(), submission if isinstance(submission, Submission) else None)
    if isinstance(job, Refusal):
        return _too_many(values, job)
    if not isinstance(submission, Submission):
        metrics().validation_failures.labels("form").inc()
        return _render_form(values, submission), 400
    if isinstance(job, Unsubscribed):
        metrics().validation_failures.labels("form").inc()
        return _render_form(values, {job.field: job.message}), 422
    assert job is not None  # a valid submission within the limits is stored
    metrics().submissions.labels("form").inc()
    return redirect(url_for("pages.status", job_id=job.id), 303)


@bp.get("/jobs/<job_id>")
def status(job_id: str) -> PageResult:
    job = adapters().store.get_job(job_id) if is_job_id(job_id) else None
    if job is None:
        return _not_found(JOB_GONE)
    return render_template(
        "status.html",
        job=job,
        label=presenters.STATUS_LABELS[job.status],
        scheduled=presenters.format_time(job.scheduled_at, job.timezone),
        expires=presenters.format_time(job.expires_at, job.timezone),
        expiry_label=presenters.expiry_label(job.status),
        downloaded=presenters.human_bytes(job.progress.bytes_downloaded),
        zip_size=presenters.human_bytes(job.zip_bytes),
        download_path=presenters.download_path(job, adapters().clock(), adapters().settings.secret_key),
        finished=job.status not in (JobStatus.SCHEDULED, JobStatus.RUNNING, JobStatus.PACKAGING),
        emails=presenters.emails_view(adapters().store.emails(job.id)),
    )


@bp.get("/jobs/<job_id>/again")
def again(job_id: str) -> PageResult:
    """The retry link of the failed email. Mail scanners open links, so this only fills in the form.

    The email address is filled in only for a correctly signed link, the one that was emailed; without a
    signature (or an empty one) the form is filled in without it, and a wrong one is refused (403)."""
    job = adapters().store.get_job(job_id) if is_job_id(job_id) else None
    if job is None:
        return _not_found(JOB_GONE)
    signature = request.args.get("sig", "")
    signed = bool(signature) and is_valid_retry_signature(adapters().settings.secret_key, job.id, signature)
    if signature and not signed:
        page = render_template(
            "error.html",
            code=403,
            title="This link is not valid",
            message="This retry link was changed or cut short, so it cannot fill in your email address. "
            "Open it again from the email, or schedule the same search and type the address yourself.",
            back_url=url_for("pages.again", job_id=job.id),
            back_label="Schedule the same search",
        )
        return page, 403
    email = job.email if signed else ""
    values = _form_values({"query": job.query, "email": email, "count": str(job.count), "now": "1"})
    values["timezone"] = job.timezone
    values["filters"] = filter_form.values_of(job.filters)
    return _render_form(values, retry_of=job)


@bp.post("/jobs/<job_id>/cancel")
def cancel(job_id: str) -> PageResult:
    if not is_job_id(job_id):
        return _not_found(JOB_GONE)
    try:
        job = cancel_job(adapters(), job_id)
    except NotCancellable as exc:
        flash(f"This job is already {presenters.STATUS_LABELS[exc.job.status].lower()}; it can no longer be cancelled.")
    else:
        if job is None:
            return _not_found(JOB_GONE)
        metrics().cancellations.inc()
        flash("The job is cancelled; nothing will run.")
    return redirect(url_for("pages.status", job_id=job_id), 303)
