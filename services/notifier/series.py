"""What the emails of a recurring search's runs add: the series' page and its signed stop link."""

from __future__ import annotations

from shared.config import Settings
from shared.domain.model import Job
from shared.series_signing import stop_path


def series_links(job: Job, settings: Settings) -> dict[str, str]:
    """`series_url` and `series_stop_url` for a run of a series (empty for a one-off job), for the
    `_series` templates every email includes."""
    if not job.series_id:
        return {"series_url": "", "series_stop_url": ""}
    base = settings.public_url.rstrip("/")
    return {
        "series_url": f"{base}/series/{job.series_id}",
        "series_stop_url": f"{base}{stop_path(settings.secret_key, job.series_id)}",
    }
