"""A series on the embedded adapters: created over the API, each run scheduling the next once, repaired by
the sweep, stopped by its link, its page or the API, and purged after its last run."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from services.janitor import handlers as janitor
from services.notifier import emails
from services.scheduler import handlers as scheduler
from shared.domain.emails import FAILED, READY, STARTED
from shared.domain.model import JobStatus
from shared.domain.series import Series, SeriesStatus
from shared.events import JOB_DUE, JOB_EXPIRE, Event
from shared.ports import Adapters
from shared.series_signing import stop_path
from tests.support import SettableClock
from tests.unit.test_gateway_support import post_form

ADDRESS = "series.person@example.com"


def submit(client: FlaskClient, clock: SettableClock, **fields: Any) -> dict[str, Any]:
    body = {
        "query": "new craft ideas",
        "email": ADDRESS,
        "count": 5,
        "timezone": "Europe/Berlin",
        "scheduled_at": (clock() + timedelta(hours=1)).isoformat(),
        "repeat": "day",
        **fields,
    }
    answer = client.post("/api/jobs", json=body)
    assert answer.status_code == 201, answer.get_json()
    return dict(answer.get_json())


def due(adapters: Adapters, job_id: str) -> None:
    scheduler.on_job_due(adapters, Event(JOB_DUE, job_id))


def test_a_repeating_submission_makes_a_series_whose_first_run_is_the_job(
    adapters: Adapters, client: FlaskClient, clock: SettableClock
) -> None:
    answer = submit(client, clock)
    series_id = answer["series_id"]
    assert answer["series_url"].endswith(f"/series/{series_id}")
    shown = client.get(f"/api/series/{series_id}").get_json()
    assert shown["status"] == "active" and shown["repeat"] == "day" and shown["cron"] == "30 11 * * *"
    assert shown["next_run"]["id"] == answer["id"] and shown["runs"] == []
    assert shown["until"] == (clock() + timedelta(hours=1, days=90)).date().isoformat()
    assert ADDRESS not in client.get(f"/api/series/{series_id}").get_data(as_text=True)
    assert ADDRESS not in client.get(f"/series/{series_id}").get_data(as_text=True)
    assert client.get(f"/api/jobs/{answer['id']}").get_json()["series_id"] == series_id
    assert client.get("/api/series/" + "0" * 32).status_code == 404


def test_a_run_that_starts_schedules_the_next_once_however_often_its_due_comes(
    adapters: Adapters, client: FlaskClient, clock: SettableClock
) -> None:
    answer = submit(client, clock)
    clock.advance(hours=1)
    for _ in range(3):  # the first delivery, a redelivery, a restarted scheduler's
        due(adapters, answer["id"])
    runs = adapters.store.series_runs(answer["series_id"])
    assert runs[0][1] == answer["id"] and len(runs) == 2
    following = adapters.store.get_job(runs[1][1])
    assert following is not None and following.status is JobStatus.SCHEDULED
    assert following.scheduled_at == clock() + timedelta(days=1)
    assert (following.email, following.query, following.series_id) == (ADDRESS, "new craft ideas", answer["series_id"])
    series = client.get(f"/api/series/{answer['series_id']}").get_json()
    assert series["next_run"]["id"] == following.id
    assert [run["id"] for run in series["runs"]] == [answer["id"]] and series["runs"][0]["status"] == "running"


def test_the_sweep_creates_a_next_run_that_a_dying_scheduler_never_created(
    adapters: Adapters, client: FlaskClient, clock: SettableClock
) -> None:
    answer = submit(client, clock)
    clock.advance(hours=1)
    first = adapters.store.get_job(answer["id"])
    assert first is not None
    # Claimed, and then the scheduler died before it scheduled the next run.
    assert adapters.store.transition(first.with_status(JobStatus.RUNNING, started_at=clock()), [JobStatus.SCHEDULED])
    assert len(adapters.store.series_runs(answer["series_id"])) == 1
    scheduler.sweep(adapters)
    scheduler.sweep(adapters)
    runs = adapters.store.series_runs(answer["series_id"])
    assert len(runs) == 2 and runs[1][0] == clock() + timedelta(days=1)


def test_a_series_ends_with_its_last_day(adapters: Adapters, client: FlaskClient, clock: SettableClock) -> None:
    last_day = (clock() + timedelta(hours=1)).date().isoformat()
    answer = submit(client, clock, until=last_day)
    clock.advance(hours=1)
    due(adapters, answer["id"])
    assert len(adapters.store.series_runs(answer["series_id"])) == 1
    series = adapters.store.get_series(answer["series_id"])
    assert series is not None and series.status is SeriesStatus.ENDED
    assert client.get(f"/api/series/{answer['series_id']}").get_json()["next_run"] is None


def test_deleting_a_series_cancels_its_waiting_run_and_no_run_starts_after(
    adapters: Adapters, client: FlaskClient, clock: SettableClock
) -> None:
    answer = submit(client, clock)
    stopped = client.delete(f"/api/series/{answer['series_id']}")
    assert stopped.status_code == 200 and stopped.get_json()["status"] == "stopped"
    assert client.delete(f"/api/series/{answer['series_id']}").get_json()["status"] == "stopped"
    first = adapters.store.get_job(answer["id"])
    assert first is not None and first.status is JobStatus.CANCELLED
    clock.advance(hours=1)
    due(adapters, answer["id"])
    assert len(adapters.store.series_runs(answer["series_id"])) == 1
    # A run created while the series was being stopped is cancelled when its time comes, not started.
    series = adapters.store.get_series(answer["series_id"])
    assert series is not None
    late = series.run_at(clock() + timedelta(minutes=5), clock())
    assert adapters.store.add_run(late)
    clock.advance(minutes=5)
    due(adapters, late.id)
    assert adapters.store.get_job(late.id).status is JobStatus.CANCELLED  # type: ignore[union-attr]
    assert client.delete("/api/series/" + "1" * 32).status_code == 404


def test_every_email_of_a_run_carries_the_signed_stop_link_which_asks_then_stops(
    adapters: Adapters, client: FlaskClient, clock: SettableClock
) -> None:
    answer = submit(client, clock)
    job = adapters.store.get_job(answer["id"])
    assert job is not None
    path = stop_path(adapters.settings.secret_key, answer["series_id"])
    for kind in (STARTED, READY, FAILED):
        mail = emails.render(kind, job, adapters.settings)
        assert f"{adapters.settings.public_url}{path}" in mail.text, kind
        assert path.replace("&", "&amp;") in mail.html, kind
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Stop this series?" in html and 'name="csrf_token"' in html
    action = re.search(r'<form method="post" action="([^"]+)"', html)
    assert action is not None
    assert adapters.store.get_series(answer["series_id"]).active  # type: ignore[union-attr]
    # A changed signature is refused, and a post without the page's token changes nothing.
    assert client.get(path[:-4] + "0000").status_code == 403
    assert client.post(path, data={}).status_code == 400
    assert adapters.store.get_series(answer["series_id"]).active  # type: ignore[union-attr]
    done = post_form(client, action.group(1).replace("&amp;", "&"))
    assert done.status_code == 200 and "The series is stopped" in done.get_data(as_text=True)
    assert adapters.store.get_series(answer["series_id"]).status is SeriesStatus.STOPPED  # type: ignore[union-attr]
    assert adapters.store.get_job(answer["id"]).status is JobStatus.CANCELLED  # type: ignore[union-attr]


def test_a_one_off_jobs_emails_have_no_series_part(adapters: Adapters, client: FlaskClient) -> None:
    answer = client.post("/api/jobs", json={"query": "cats", "email": ADDRESS, "count": 3}).get_json()
    job = adapters.store.get_job(answer["id"])
    assert job is not None and "series_id" not in answer
    mail = emails.render(STARTED, job, adapters.settings)
    assert "/series/" not in mail.text and "/series/" not in mail.html
    assert mail.text.endswith("We will email you again when the download is ready.\n")


def test_an_ended_series_is_purged_with_its_last_run_and_its_address_is_gone(
    adapters: Adapters, client: FlaskClient, clock: SettableClock, tmp_path: Path
) -> None:
    answer = submit(client, clock)
    series_id = answer["series_id"]
    clock.advance(hours=1)
    due(adapters, answer["id"])
    adapters.store.remember_delivered(series_id, ["u" + "a" * 40, "i" + "b" * 40])
    assert client.delete(f"/api/series/{series_id}").status_code == 200
    first = adapters.store.get_job(answer["id"])
    assert first is not None and first.status is JobStatus.RUNNING
    # The running run finishes (failed, say) and its record lives until its expiry: so does the series.
    failed = first.finish(JobStatus.FAILED, clock(), adapters.settings.link_ttl, failure_reason="no images")
    assert adapters.store.transition(failed, [JobStatus.RUNNING])
    janitor.sweep(adapters)
    assert adapters.store.get_series(series_id) is not None
    clock.advance(seconds=adapters.settings.link_ttl + 1)
    for _, job_id in adapters.store.series_runs(series_id):
        janitor.on_job_expire(adapters, Event(JOB_EXPIRE, job_id))
    assert adapters.store.get_series(series_id) is None
    assert adapters.store.series_runs(series_id) == []
    assert client.get(f"/series/{series_id}").status_code == 404
    files = [path for path in tmp_path.glob("imgjob.sqlite3*") if path.is_file()]
    data = b"".join(path.read_bytes() for path in files)
    assert data and ADDRESS.encode() not in data and b"new craft ideas" not in data


def test_the_form_schedules_a_weekly_series_and_its_pages_link_each_other(
    adapters: Adapters, client: FlaskClient, clock: SettableClock
) -> None:
    form = client.get("/").get_data(as_text=True)
    assert '<select id="repeat" name="repeat"' in form
    assert all(f">{words}</option>" in form for words in ("never", "every day", "every week", "every month"))
    fields = {"query": "knitting", "email": ADDRESS, "count": "4", "date": "2030-03-15", "time": "08:15"}
    fields |= {"timezone": "Europe/Berlin", "repeat": "week", "until": "2030-04-30"}
    refused = post_form(client, "/jobs", {**fields, "repeat": "every fortnight"})
    assert refused.status_code == 400 and "five-field cron expression" in refused.get_data(as_text=True)
    submitted = post_form(client, "/jobs", fields)
    assert submitted.status_code == 303, submitted.get_data(as_text=True)
    job_id = submitted.headers["Location"].rsplit("/", 1)[-1]
    job = adapters.store.get_job(job_id)
    assert job is not None and job.series_id is not None
    series = adapters.store.get_series(job.series_id)
    assert series is not None and series.cron == "15 8 * * 5" and series.repeat == "week"
    status = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert f'href="/series/{job.series_id}"' in status

    clock.advance(days=1)
    due(adapters, job_id)
    page = client.get(f"/series/{job.series_id}").get_data(as_text=True)
    assert "every week" in page and "2030-04-30" in page and "Stop this series" in page
    assert f'href="/jobs/{job_id}"' in page  # its past run
    following = adapters.store.series_runs(job.series_id)[-1][1]
    assert f'href="/jobs/{following}"' in page and "Fri 22 Mar 2030, 08:15 (Europe/Berlin)" in page


def test_the_sweep_creates_the_first_run_of_a_series_stored_without_one(
    adapters: Adapters, clock: SettableClock
) -> None:
    # A gateway that died between storing the series and its first run.
    series = Series(
        uuid.uuid4().hex, "q", ADDRESS, 2, "UTC", "day", "0 12 * * *", clock() + timedelta(hours=2),
        clock() + timedelta(days=5), clock(),
    )  # fmt: skip
    adapters.store.add_series(series, series.purge_after(adapters.settings.link_ttl))
    scheduler.sweep(adapters)
    scheduler.sweep(adapters)
    [(when, job_id)] = adapters.store.series_runs(series.id)
    assert when == series.first_at and adapters.store.get_job(job_id).status is JobStatus.SCHEDULED  # type: ignore[union-attr]
