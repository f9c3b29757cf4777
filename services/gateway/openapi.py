"""The OpenAPI 3.1 description of the JSON API, served at /openapi.json."""

from __future__ import annotations

from typing import Any

from services.gateway import openapi_series
from shared.domain.emails import KINDS, EmailState
from shared.domain.filters import CHOICES, DEFAULT_SAFE, FORMATS, MAX_PIXELS
from shared.domain.submission import MAX_AHEAD, MAX_COUNT, MAX_EMAIL_LENGTH, MAX_QUERY_LENGTH

STATUSES = ["scheduled", "running", "packaging", "ready", "expired", "failed", "cancelled"]
TIME = {"type": ["string", "null"], "format": "date-time"}
EXAMPLE_JOB_ID = "5f0c6f1e9d2b4a7c8e3f1a2b3c4d5e6f"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _schemas() -> dict[str, Any]:
    return {
        "JobRequest": {
            "type": "object",
            "additionalProperties": False,
            "required": ["query", "email", "count"],
            "properties": {
                "query": {"type": "string", "minLength": 1, "maxLength": MAX_QUERY_LENGTH},
                "email": {"type": "string", "format": "email", "maxLength": MAX_EMAIL_LENGTH},
                "count": {"type": "integer", "minimum": 1, "maximum": MAX_COUNT},
                "scheduled_at": {
                    "type": ["string", "null"],
                    "format": "date-time",
                    "description": f"ISO 8601 with a UTC offset, in the future and at most {MAX_AHEAD.days} days "
                    "ahead; omit it (or send null) to run as soon as possible.",
                },
                "timezone": {
                    "type": "string",
                    "description": "IANA time zone used to show times in emails and on the status page (default UTC).",
                    "examples": ["Europe/Paris"],
                },
                "filters": _ref("Filters"),
                "webhook_url": {
                    "type": ["string", "null"],
                    "format": "uri",
                    "description": "An absolute http(s) URL, no credentials: every event of the job (job.started, "
                    "job.ready, job.failed, job.expired) is POSTed to it, signed (see README, Events).",
                },
                **openapi_series.REQUEST_FIELDS,
            },
        },
        "Filters": {
            "type": ["object", "null"],
            "additionalProperties": False,
            "description": "Optional. size, type, color, layout, license, age and safe are sent to each search "
            "engine in its own parameters where it has one; min_width, min_height and formats are also checked "
            "on every downloaded image, and an image that misses them is left out of the zip (the manifest says "
            "why). An unknown key or value is a 422 naming `filters.<name>`.",
            "properties": {
                **{name: {"type": ["string", "null"], "enum": [*values, None]} for name, values in CHOICES.items()},
                "safe": {"type": ["string", "null"], "enum": [*CHOICES["safe"], None], "default": DEFAULT_SAFE},
                "min_width": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_PIXELS},
                "min_height": {"type": ["integer", "null"], "minimum": 1, "maximum": MAX_PIXELS},
                "formats": {
                    "type": ["array", "null"],
                    "items": {"type": "string", "enum": list(FORMATS)},
                    "uniqueItems": True,
                    "description": "The formats accepted (by the image's bytes, not its address); empty: any.",
                },
            },
        },
        "JobCreated": {
            "type": "object",
            "required": ["id", "status", "scheduled_at", "status_url"],
            "properties": {
                "id": {"type": "string"},
                "status": {"type": "string", "enum": STATUSES},
                "scheduled_at": {"type": "string", "format": "date-time"},
                "status_url": {"type": "string", "format": "uri"},
                "webhook_secret": {
                    "type": "string",
                    "description": "Only with a webhook_url, and only in this answer: the key of the deliveries' "
                    "X-Imgjob-Signature (HMAC-SHA256).",
                },
                **openapi_series.CREATED_FIELDS,
            },
        },
        "Progress": {
            "type": "object",
            "properties": {
                name: {"type": "integer", "minimum": 0}
                for name in ("links_found", "images_downloaded", "images_failed", "bytes_downloaded")
            },
        },
        "Job": {
            "type": "object",
            "description": "A job as the API shows it. The email address is never included.",
            "required": ["id", "status", "query", "count", "scheduled_at", "progress"],
            "properties": {
                "id": {"type": "string"},
                "status": {"type": "string", "enum": STATUSES},
                "query": {"type": "string"},
                "count": {"type": "integer"},
                "timezone": {"type": "string"},
                "scheduled_at": {"type": "string", "format": "date-time"},
                "created_at": {"type": "string", "format": "date-time"},
                "started_at": TIME,
                "finished_at": TIME,
                "progress": _ref("Progress"),
                "failure_reason": {"type": ["string", "null"]},
                "note": {"type": ["string", "null"], "description": "What the search and download found, in words."},
                "expires_at": TIME,
                "zip_bytes": {"type": "integer"},
                "status_url": {"type": "string", "format": "uri"},
                "download_url": {
                    "type": ["string", "null"],
                    "format": "uri",
                    "description": "Set while the job is ready and its link has not expired.",
                },
                "emails": {"type": "array", "items": _ref("Email")},
                "filters": {
                    "type": "object",
                    "description": 'The filters set (safe search always: {"safe": "moderate"} when none was chosen).',
                },
                "series_id": {"type": ["string", "null"], "description": "The series this job is a run of."},
            },
        },
        "Email": {
            "type": "object",
            "description": "One of the job's emails (started, ready, failed) as far as it was tried.",
            "required": ["kind", "state", "attempts"],
            "properties": {
                "kind": {"type": "string", "enum": list(KINDS)},
                "state": {"type": "string", "enum": [state.value for state in EmailState]},
                "label": {"type": "string"},
                "attempts": {"type": "integer", "minimum": 1},
                "detail": {"type": ["string", "null"], "description": "The mail server's reply code, if any."},
            },
        },
        **openapi_series.schemas(),
        "Errors": {
            "type": "object",
            "required": ["errors"],
            "properties": {
                "errors": {
                    "type": "object",
                    "description": "Messages by field name (`body` for the request as a whole).",
                    "additionalProperties": {"type": "string"},
                }
            },
        },
    }


def openapi_document(server_url: str) -> dict[str, Any]:
    errors = _ref("Errors")
    job_id = {
        "name": "job_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
        "example": EXAMPLE_JOB_ID,
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "imgjob",
            "version": "1",
            "description": "Schedule an image search; at the scheduled time the images are zipped and a "
            "download link that expires is emailed. Submissions are rate-limited per client address and per "
            'email address (429 with Retry-After). Errors are always `{"errors": {field: message}}`.',
        },
        "servers": [{"url": server_url}],
        "paths": {
            "/api/jobs": {
                "post": {
                    "operationId": "createJob",
                    "summary": "Schedule a job",
                    "requestBody": {
                        "required": True,
                        "description": "Only `Content-Type: application/json` is accepted; any other type gets 415.",
                        "content": {"application/json": {"schema": _ref("JobRequest")}},
                    },
                    "responses": {
                        "201": {
                            **_json(_ref("JobCreated"), "Scheduled."),
                            "headers": {"Location": {"schema": {"type": "string"}, "description": "The job's URL."}},
                        },
                        "400": _json(errors, "The body is not JSON."),
                        "413": _json(errors, "The body is too large."),
                        "415": _json(
                            errors,
                            "The Content-Type is not application/json (parameters such as charset are allowed); "
                            "nothing was read or stored.",
                        ),
                        "422": _json(errors, "Invalid fields, a time in the past included."),
                        "429": {
                            **_json(errors, "Too many submissions from this client address or for this email."),
                            "headers": {
                                "Retry-After": {
                                    "schema": {"type": "string", "pattern": "^[0-9]+$"},
                                    "description": "Seconds until a submission would be accepted.",
                                }
                            },
                        },
                    },
                }
            },
            "/api/jobs/{job_id}": {
                "parameters": [job_id],
                "get": {
                    "operationId": "getJob",
                    "summary": "A job's status and progress",
                    "responses": {"200": _json(_ref("Job"), "The job."), "404": _json(errors, "No such job.")},
                },
                "delete": {
                    "operationId": "cancelJob",
                    "summary": "Cancel a job that has not started",
                    "responses": {
                        "200": _json(_ref("Job"), "Cancelled (or already cancelled)."),
                        "404": _json(errors, "No such job."),
                        "409": _json(errors, "The job has already started or finished."),
                    },
                },
            },
            **openapi_series.paths(errors),
        },
        "components": {"schemas": _schemas()},
    }
