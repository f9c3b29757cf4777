"""A series every minute against the fake web, whose results are the same every run: two runs start on
their minutes and deliver disjoint images; the stop link in their emails ends the series, and once its
last run's link has expired nothing of the person is left."""

from __future__ import annotations

import hashlib
import io
import json
import re
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.system import RunningSystem, personal_data_left, running_system
from tests.e2e.test_job_end_to_end import FormValues, emails_to, link_in
from tests.fakeweb import FakeWeb
from tests.support import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

LINK_TTL = 25
COUNT = 4


def _when(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _delivery(system: RunningSystem, ready: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The run's manifest.json and its images (SHA-256 -> URL), read from the zip its ready email links."""
    download = link_in(ready, rf"{re.escape(system.url)}/download/[A-Za-z0-9_-]+")
    response = requests.get(download, timeout=30)
    assert response.status_code == 200, response.text
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    manifest = json.loads(archive.read("manifest.json"))
    images = {}
    for image in manifest["images"]:
        assert hashlib.sha256(archive.read(image["file"])).hexdigest() == image["sha256"]
        images[image["sha256"]] = image["url"]
    return manifest, images


def test_a_series_every_minute_delivers_only_new_images_until_its_stop_link(
    web: FakeWeb, tmp_path: Path, stack: str
) -> None:
    email = f"series-{uuid.uuid4().hex[:8]}@example.com"
    query = f"wallpapers {uuid.uuid4().hex[:8]}"
    extra = {"IMGJOB_BING_URL": web.bing_url(total=60), "IMGJOB_LINK_TTL": str(LINK_TTL)}
    with running_system(stack, tmp_path, **extra) as system:
        answer = requests.post(
            f"{system.url}/api/jobs",
            json={"query": query, "email": email, "count": COUNT, "repeat": "* * * * *", "timezone": "Europe/Berlin"},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        series_id = answer.json()["series_id"]
        series_url = f"{system.url}/api/series/{series_id}"
        first_at = _when(answer.json()["scheduled_at"])
        assert first_at.second == 0 and first_at.microsecond == 0

        # Each run's zip is fetched as soon as it is ready (its link lives LINK_TTL seconds).
        deliveries: list[tuple[dict[str, Any], dict[str, str]]] = []
        starts: dict[str, tuple[datetime, datetime]] = {}
        seen: set[str] = set()

        def next_delivery() -> bool:
            # A run's emails go with the run at its expiry: each ready email is taken as it comes.
            for ready in emails_to(system, email, "Ready"):
                if ready["Message-ID"] in seen:
                    continue
                seen.add(ready["Message-ID"])
                manifest, images = _delivery(system, ready)
                job = requests.get(f"{system.url}/api/jobs/{manifest['job_id']}", timeout=5).json()
                starts[manifest["job_id"]] = (_when(job["scheduled_at"]), _when(job["started_at"]))
                deliveries.append((manifest, images))
            return len(deliveries) >= 2

        wait_until(next_delivery, timeout=240, interval=0.5, what="two runs' ready emails")
        (first, first_images), (second, second_images) = deliveries
        # Two runs, on consecutive minutes, each started on its minute (not early, within the ladder's second).
        first_due, second_due = starts[first["job_id"]][0], starts[second["job_id"]][0]
        assert (first_due, second_due) == (first_at, first_at + timedelta(minutes=1))
        for due, started in starts.values():
            assert timedelta(0) <= started - due < timedelta(seconds=10), (due, started)
        # Only what is new: the fake engine answers the same results every run, and the second run skipped
        # the first's images, by URL and by bytes, and still got its count.
        assert len(first_images) == len(second_images) == COUNT
        assert set(first_images).isdisjoint(second_images)
        assert set(first_images.values()).isdisjoint(second_images.values())
        assert first["skipped_as_delivered"] == 0 and first["series_id"] == series_id
        assert second["skipped_as_delivered"] >= COUNT
        assert {row["url"] for row in second["already_delivered"]} >= set(first_images.values())

        # Every email of the series carries its stop link: it asks, then the button stops the series.
        started_email = wait_until(lambda: emails_to(system, email, "Started"), timeout=70, what="a started email")[-1]
        stop_link = link_in(started_email, rf"{re.escape(system.url)}/series/{series_id}/stop\?sig=[0-9a-f]+")
        session = requests.Session()
        page = session.get(stop_link, timeout=5)
        assert page.status_code == 200 and "Stop this series?" in page.text
        assert requests.get(series_url, timeout=5).json()["status"] == "active"
        action = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert action is not None
        stopped_at = datetime.now(UTC)
        done = session.post(f"{system.url}{action.group(1).replace('&amp;', '&')}", data=FormValues(page.text).values)
        assert done.status_code == 200 and "The series is stopped" in done.text
        series = requests.get(series_url, timeout=5).json()
        assert series["status"] == "stopped" and series["next_run"] is None
        # The run that was waiting for its time is cancelled; the runs before the stop are not.
        after_stop = {
            r["id"]: _when(r["scheduled_at"]) for r in series["runs"] if _when(r["scheduled_at"]) > stopped_at
        }
        assert after_stop and all(r["status"] == "cancelled" for r in series["runs"] if r["id"] in after_stop)
        assert all(r["status"] != "cancelled" for r in series["runs"] if r["id"] not in after_stop), series

        # Past its time, it has not started: no started email for it, and its record (if still kept) says so.
        last = max(after_stop.values())
        wait_until(lambda: datetime.now(UTC) > last + timedelta(seconds=5), timeout=90, what="the cancelled run's time")
        started_ids = {m["Message-ID"].strip("<>").split(".")[0] for m in emails_to(system, email, "Started")}
        assert not started_ids & set(after_stop)
        for job_id in after_stop:
            job = requests.get(f"{system.url}/api/jobs/{job_id}", timeout=5)
            assert job.status_code == 404 or job.json()["status"] == "cancelled"

        # Once its last run's link has expired, the series goes too, and nothing of the person is left.
        wait_until(
            lambda: requests.get(series_url, timeout=5).status_code == 404,
            timeout=LINK_TTL + 120,
            what="the series to be purged",
        )
        assert personal_data_left(system, email, query) == []
