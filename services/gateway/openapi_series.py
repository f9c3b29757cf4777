"""The OpenAPI description of recurring searches: `repeat` and `until` on a submission, and the series."""

from __future__ import annotations

from typing import Any

from shared.domain.recurrence import DEFAULT_UNTIL, MAX_CRON_LENGTH, MAX_UNTIL

SERIES_STATUSES = ["active", "stopped", "ended"]
RUN_STATUSES = ["scheduled", "running", "packaging", "ready", "expired", "failed", "cancelled"]
_TIME = {"type": ["string", "null"], "format": "date-time"}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


REQUEST_FIELDS: dict[str, Any] = {
    "repeat": {
        "type": ["string", "null"],
        "maxLength": MAX_CRON_LENGTH,
        "description": "Make the job the first run of a series: `never` (the default), `day`, `week` or `month` "
        "(also `daily`, `weekly`, `monthly`, `every day`, ...: the first run's local time, weekday or day of the "
        "month; from the 29th to the 31st, the month's last day), or a five-field cron expression (minute hour "
        "day-of-month month day-of-week), whose first time at or after `scheduled_at` is the first run. Always "
        "read in `timezone`, across daylight-saving changes: a time that does not exist that day runs at the "
        "next valid minute, one that exists twice runs once. Each run is a job of its own, with its own emails "
        "and link, and delivers only images no earlier run of the series delivered.",
        "examples": ["week", "0 9 * * 1-5"],
    },
    "until": {
        "type": ["string", "null"],
        "format": "date",
        "description": f"With `repeat`: the last day (YYYY-MM-DD, in `timezone`) a run may start, at most "
        f"{MAX_UNTIL.days} days ahead; {DEFAULT_UNTIL.days} days after the first run when omitted.",
    },
}

CREATED_FIELDS: dict[str, Any] = {
    "series_id": {"type": "string", "description": "With `repeat`: the series this job is the first run of."},
    "series_url": {"type": "string", "format": "uri", "description": "With `repeat`: the series' page."},
}


def schemas() -> dict[str, Any]:
    run = {
        "type": "object",
        "required": ["id", "scheduled_at", "status", "status_url"],
        "properties": {
            "id": {"type": "string"},
            "scheduled_at": {"type": "string", "format": "date-time"},
            "status": {"type": "string", "enum": RUN_STATUSES, "description": "`expired` once purged too."},
            "status_url": {"type": "string", "format": "uri"},
        },
    }
    series = {
        "type": "object",
        "description": "A recurring search. The email address is never included.",
        "required": ["id", "status", "query", "count", "timezone", "repeat", "cron", "until", "runs"],
        "properties": {
            "id": {"type": "string"},
            "status": {"type": "string", "enum": SERIES_STATUSES},
            "query": {"type": "string"},
            "count": {"type": "integer"},
            "timezone": {"type": "string"},
            "repeat": {"type": "string", "description": "`day`, `week`, `month` or the cron expression given."},
            "cron": {"type": "string", "description": "The five-field expression runs follow, in `timezone`."},
            "first_at": {"type": "string", "format": "date-time"},
            "until": {"type": "string", "format": "date"},
            "ended_at": _TIME,
            "next_run": {"oneOf": [_ref("SeriesRun"), {"type": "null"}]},
            "runs": {"type": "array", "items": _ref("SeriesRun"), "description": "Past runs, latest first."},
            "status_url": {"type": "string", "format": "uri"},
        },
    }
    return {"SeriesRun": run, "Series": series}


def paths(errors: dict[str, Any]) -> dict[str, Any]:
    series_id = {
        "name": "series_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
    }
    return {
        "/api/series/{series_id}": {
            "parameters": [series_id],
            "get": {
                "operationId": "getSeries",
                "summary": "A recurring search: its runs and the next one",
                "responses": {"200": _json(_ref("Series"), "The series."), "404": _json(errors, "No such series.")},
            },
            "delete": {
                "operationId": "stopSeries",
                "summary": "Stop a recurring search; a run waiting for its time is cancelled",
                "responses": {
                    "200": _json(_ref("Series"), "Stopped (or already stopped or ended)."),
                    "404": _json(errors, "No such series."),
                },
            },
        }
    }
