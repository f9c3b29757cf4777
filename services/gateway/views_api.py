"""The JSON API: create, read and cancel jobs. Errors are always `{"errors": {field: message}}`."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, request

from services.gateway import presenters
from services.gateway.commands import NotCancellable, Unsubscribed, cancel_job
from services.gateway.ratelimit import Refusal, retry_after_header
from services.gateway.state import adapters, client_address, intake, is_job_id, metrics, public_url
from shared.domain.model import Job
from shared.domain.submission import Submission, SubmissionErrors, validate_api
from shared.webhooks import signer_of, webhook_secret

bp = Blueprint("api", __name__, url_prefix="/api")

NO_SUCH_JOB = "No job with this id; it may have expired and been deleted."
JSON_ONLY = "Send the job as JSON with Content-Type: application/json."


def error_response(status: int, errors: dict[str, str]) -> Response:
    response = jsonify({"errors": errors})
    response.status_code = status
    return response


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _is_json_request() -> bool:
    """Whether the request says its body is JSON: `application/json`, in any case, with any parameters.

    Nothing else, not even `text/plain` holding JSON: a form on another site can post `text/plain`,
    `application/x-www-form-urlencoded` or `multipart/form-data` from its visitors' browsers without
    asking them, but a cross-site `application/json` needs a CORS preflight this API never grants.
    """
    return request.mimetype == "application/json"


def _parse_body(body: bytes) -> Any:
    """The request body as strict JSON (the caller has checked the Content-Type); ValueError if it is not.

    Strict: no NaN or Infinity, and no lone surrogate escapes, which no store could encode.
    """
    try:
        raw = json.loads(body, parse_constant=_reject_constant)
        json.dumps(raw, ensure_ascii=False).encode("utf-8")
    except RecursionError as exc:
        raise ValueError("nested too deeply") from exc
    return raw


def _too_many(refusal: Refusal) -> Response:
    metrics().rate_limited.labels("api", refusal.limit).inc()
    response = error_response(429, {"email" if refusal.limit == "email" else "body": refusal.message})
    response.headers["Retry-After"] = retry_after_header(refusal.retry_after)
    return response


def _job_or_none(job_id: str) -> Job | None:
    return adapters().store.get_job(job_id) if is_job_id(job_id) else None


def _submission(body: bytes) -> Submission | Response:
    """The request's valid submission, or the error response saying what is wrong with it."""
    try:
        raw = _parse_body(body)
    except ValueError:
        return error_response(400, {"body": 'Send a JSON object, like {"query": "cats", ...}.'})
    try:
        return validate_api(raw, adapters().clock())
    except SubmissionErrors as exc:
        return error_response(422, exc.errors)


@bp.post("/jobs")
def create_job() -> Response:
    # Before anything else, the body unread: a cross-site form post must not even use up the limits.
    if not _is_json_request():
        metrics().validation_failures.labels("api").inc()
        return error_response(415, {"body": JSON_ONLY})
    body = request.get_data(cache=False)
    with intake().arriving():
        submission = _submission(body)
        # Every attempt is counted, valid or not (each costs us work); a valid one for its mailbox too.
        job = intake().submit(client_address(), submission if isinstance(submission, Submission) else None)
    if isinstance(job, Refusal):
        return _too_many(job)
    if not isinstance(submission, Submission):
        metrics().validation_failures.labels("api").inc()
        return submission
    if isinstance(job, Unsubscribed):
        metrics().validation_failures.labels("api").inc()
        return error_response(422, {job.field: job.message})
    assert job is not None  # a valid submission within the limits is stored
    metrics().submissions.labels("api").inc()
    answer = {
        "id": job.id,
        "status": job.status.value,
        "scheduled_at": job.scheduled_at.isoformat(),
        "status_url": f"{public_url()}/jobs/{job.id}",
    }
    if job.series_id:
        # A repeating search: this is its first run; the series lists them all.
        answer["series_id"] = job.series_id
        answer["series_url"] = f"{public_url()}/series/{job.series_id}"
    if job.webhook_url:
        # Shown this once: derived from the job's (or its series') id under the secret key, never stored.
        answer["webhook_secret"] = webhook_secret(adapters().settings.secret_key, signer_of(job))
    response = jsonify(answer)
    response.status_code = 201
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return response


@bp.get("/jobs/<job_id>")
def get_job(job_id: str) -> Response:
    job = _job_or_none(job_id)
    if job is None:
        return error_response(404, {"id": NO_SUCH_JOB})
    return jsonify(
        presenters.job_json(
            job, public_url(), adapters().clock(), adapters().store.emails(job.id), adapters().settings.secret_key
        )
    )


@bp.delete("/jobs/<job_id>")
def delete_job(job_id: str) -> Response:
    """Cancel a job that has not started; 409 once it has."""
    if not is_job_id(job_id):
        return error_response(404, {"id": NO_SUCH_JOB})
    try:
        job = cancel_job(adapters(), job_id)
    except NotCancellable as exc:
        return error_response(
            409, {"status": f"The job is {exc.job.status.value}; only a scheduled job can be cancelled."}
        )
    if job is None:
        return error_response(404, {"id": NO_SUCH_JOB})
    metrics().cancellations.inc()
    return jsonify(
        presenters.job_json(
            job, public_url(), adapters().clock(), adapters().store.emails(job.id), adapters().settings.secret_key
        )
    )
