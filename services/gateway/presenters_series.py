"""How a series is shown: its JSON form and the words of its status page (never its email address)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.gateway.presenters import STATUS_LABELS, format_time, zone
from services.gateway.series_commands import Run, SeriesView
from shared.domain.recurrence import DAY, MONTH, WEEK
from shared.domain.series import Series, SeriesStatus

SERIES_LABELS = {
    SeriesStatus.ACTIVE: "Repeating",
    SeriesStatus.STOPPED: "Stopped",
    SeriesStatus.ENDED: "Ended: no run left before its last day",
}
REPEAT_WORDS = {DAY: "every day", WEEK: "every week", MONTH: "every month"}


def last_day(series: Series) -> date:
    """The `until` date the person chose: the day before `until_at`, in the series' zone."""
    return (series.until_at.astimezone(zone(series.timezone)) - timedelta(days=1)).date()


def repeat_words(series: Series) -> str:
    return REPEAT_WORDS.get(series.repeat, f"on the cron schedule “{series.cron}”")


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat()


def run_json(run: Run, public_url: str) -> dict[str, Any]:
    return {
        "id": run.job_id,
        "scheduled_at": _iso(run.scheduled_at),
        # A purged run's records are gone; it reads as expired, like its link.
        "status": run.job.status.value if run.job is not None else "expired",
        "status_url": f"{public_url}/jobs/{run.job_id}",
    }


def series_json(view: SeriesView, public_url: str) -> dict[str, Any]:
    series = view.series
    return {
        "id": series.id,
        "status": series.status.value,
        "query": series.query,
        "count": series.count,
        "timezone": series.timezone,
        "repeat": series.repeat,
        "cron": series.cron,
        "first_at": _iso(series.first_at),
        "until": last_day(series).isoformat(),
        "ended_at": _iso(series.ended_at),
        "next_run": run_json(view.next, public_url) if view.next else None,
        "runs": [run_json(run, public_url) for run in view.past],
        "status_url": f"{public_url}/series/{series.id}",
    }


def run_rows(view: SeriesView) -> list[dict[str, str]]:
    """The status page's table of past runs, latest first."""
    return [
        {
            "job_id": run.job_id,
            "when": format_time(run.scheduled_at, view.series.timezone),
            "label": STATUS_LABELS[run.job.status] if run.job is not None else "Expired and deleted",
        }
        for run in view.past
    ]
