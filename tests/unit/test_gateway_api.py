"""The JSON API: create, read, cancel, and errors that are always `{"errors": {...}}`."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from services.gateway.app import create_app
from shared.domain.emails import EmailState
from shared.domain.model import JobStatus
from shared.events import JOB_DUE
from shared.ports import Adapters
from tests.support import NOW, OWNER_EMAIL, EventRecorder, SettableClock, add_job, embedded_adapters, make_ready_job
from tests.unit.test_gateway_support import submitted


def body(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {"query": "lighthouses", "email": "api@example.com", "count": 10}
    data.update(changes)
    return data


def test_create_returns_201_with_location_and_stores_the_job(client: FlaskClient, adapters: Adapters) -> None:
    due = EventRecorder(adapters, "test.due", [JOB_DUE])
    adapters.bus.start()
    response = client.post("/api/jobs", json=body(scheduled_at="2030-03-14T12:00:00+02:00", timezone="Europe/Athens"))
    assert response.status_code == 201
    data = response.get_json()
    assert set(data) == {"id", "status", "scheduled_at", "status_url"}
    assert data["status"] == "scheduled"
    assert datetime.fromisoformat(data["scheduled_at"]) == datetime(2030, 3, 14, 10, 0, tzinfo=UTC)
    assert data["status_url"] == f"http://gateway.test/jobs/{data['id']}"
    assert response.headers["Location"] == f"/api/jobs/{data['id']}"

    job = adapters.store.get_job(data["id"])
    assert job is not None
    assert submitted(job) == (JobStatus.SCHEDULED, "lighthouses", "api@example.com", 10, "Europe/Athens")
    # Half an hour ahead: the event is on the bus's delay heap, not delivered yet.
    assert due.events == []


def test_create_without_a_time_runs_now(client: FlaskClient, adapters: Adapters) -> None:
    due = EventRecorder(adapters, "test.due", [JOB_DUE])
    adapters.bus.start()
    response = client.post("/api/jobs", json=body())
    assert response.status_code == 201
    assert datetime.fromisoformat(response.get_json()["scheduled_at"]) == NOW
    [event] = due.wait_for(JOB_DUE)
    assert event.job_id == response.get_json()["id"]


@pytest.mark.parametrize(
    ("payload", "fields"),
    [
        (body(count=0), {"count"}),
        (body(count=501), {"count"}),
        (body(count="10"), {"count"}),
        (body(email="nope"), {"email"}),
        ({"email": "api@example.com", "count": 1}, {"query"}),
        (body(scheduled_at="2030-03-14T08:00:00+00:00"), {"scheduled_at"}),
        (body(scheduled_at="2030-03-14T12:00:00"), {"scheduled_at"}),
        (body(scheduled_at="tomorrow"), {"scheduled_at"}),
        (body(timezone="Mars/Olympus_Mons"), {"timezone"}),
        (body(colour="blue", priority=1), {"colour", "priority"}),
        ([1, 2, 3], {"body"}),
        (None, {"body"}),
    ],
)
def test_invalid_bodies_get_422_with_field_errors(
    client: FlaskClient, adapters: Adapters, payload: object, fields: set[str]
) -> None:
    response = client.post("/api/jobs", data=json.dumps(payload), content_type="application/json")
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == fields
    assert all(isinstance(message, str) and message for message in errors.values())
    assert adapters.store.jobs_in(JobStatus.SCHEDULED) == []


@pytest.mark.parametrize(
    ("raw", "content_type"),
    [
        (b'{"query": "cats",', "application/json"),
        (b"\xff\xfe\x00", "application/json"),
        (b"[" * 20_000 + b"]" * 20_000, "application/json"),
        (b"", "application/json"),
        (b'{"query": "\\ud800", "email": "a@example.com", "count": 1}', "application/json"),
        (b'{"query": "cats", "email": "a@example.com", "count": NaN}', "application/json"),
    ],
)
def test_a_body_that_is_not_json_gets_400(
    client: FlaskClient, adapters: Adapters, raw: bytes, content_type: str
) -> None:
    response = client.post("/api/jobs", data=raw, content_type=content_type)
    assert response.status_code == 400
    assert set(response.get_json()["errors"]) == {"body"}
    assert adapters.store.jobs_in(JobStatus.SCHEDULED) == []


VALID = json.dumps(body()).encode()


@pytest.mark.parametrize(
    ("raw", "headers"),
    [
        # What a form on another site can post from its visitors' browsers without a CORS preflight.
        (VALID, {"Content-Type": "text/plain"}),
        (VALID, {"Content-Type": "text/plain; charset=utf-8"}),
        (b"query=lighthouses&email=api%40example.com&count=10", {"Content-Type": "application/x-www-form-urlencoded"}),
        (
            b'--b\r\nContent-Disposition: form-data; name="query"\r\n\r\ncats\r\n--b--\r\n',
            {"Content-Type": "multipart/form-data; boundary=b"},
        ),
        (VALID, {}),
        (VALID, {"Content-Type": ""}),
        # JSON in name only.
        (VALID, {"Content-Type": "application/ld+json"}),
        (VALID, {"Content-Type": "text/json"}),
        (VALID, {"Content-Type": "application/jsonp"}),
    ],
    ids=["text-plain", "text-plain-utf8", "form", "multipart", "missing", "empty", "ld-json", "text-json", "jsonp"],
)
def test_a_body_without_a_json_content_type_gets_415_and_stores_nothing(
    client: FlaskClient, adapters: Adapters, raw: bytes, headers: dict[str, str]
) -> None:
    response = client.post("/api/jobs", data=raw, headers=headers)
    assert response.status_code == 415
    assert response.mimetype == "application/json"
    assert response.get_json() == {"errors": {"body": "Send the job as JSON with Content-Type: application/json."}}
    assert adapters.store.jobs_in(JobStatus.SCHEDULED) == []


def test_a_refused_content_type_is_not_even_read(client: FlaskClient, adapters: Adapters) -> None:
    # Far over the body limit: a 413 would mean the body was read before the type was looked at.
    response = client.post("/api/jobs", data=b"x" * 200_000, content_type="text/plain")
    assert response.status_code == 415
    assert adapters.store.jobs_in(JobStatus.SCHEDULED) == []


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=utf-8", "Application/JSON", "APPLICATION/JSON ; Charset=UTF-8"]
)
def test_json_with_parameters_or_in_any_case_is_accepted(
    client: FlaskClient, adapters: Adapters, content_type: str
) -> None:
    response = client.post("/api/jobs", data=VALID, headers={"Content-Type": content_type})
    assert response.status_code == 201
    job = adapters.store.get_job(response.get_json()["id"])
    assert job is not None and job.query == "lighthouses"


def test_a_huge_body_gets_413_as_json(client: FlaskClient) -> None:
    response = client.post("/api/jobs", json=body(query="x" * 200_000))
    assert response.status_code == 413
    assert set(response.get_json()["errors"]) == {"body"}


def test_get_shows_status_and_progress_but_never_the_email(client: FlaskClient, adapters: Adapters) -> None:
    job = add_job(adapters, status=JobStatus.RUNNING)
    adapters.store.update_progress(job.id, links_found=12, images_downloaded=5, images_failed=2, bytes_downloaded=999)
    response = client.get(f"/api/jobs/{job.id}")
    assert response.status_code == 200
    data = response.get_json()
    assert data["id"] == job.id
    assert data["status"] == "running"
    assert data["query"] == "red bikes"
    assert data["count"] == 3
    assert data["progress"] == {"links_found": 12, "images_downloaded": 5, "images_failed": 2, "bytes_downloaded": 999}
    assert data["failure_reason"] is None
    assert data["download_url"] is None
    assert "email" not in data
    assert OWNER_EMAIL not in response.get_data(as_text=True)


def test_the_state_of_each_email_is_shown_in_the_api_and_on_the_status_page(
    client: FlaskClient, adapters: Adapters
) -> None:
    job = add_job(adapters, status=JobStatus.RUNNING)
    now = adapters.clock()
    lease = now + timedelta(minutes=2)
    started = adapters.store.claim_email(job.id, "started", now, lease)
    assert started and adapters.store.settle_email(job.id, "started", started, EmailState.SENT, None)
    ready = adapters.store.claim_email(job.id, "ready", now, lease)
    assert ready and adapters.store.settle_email(job.id, "ready", ready, EmailState.REFUSED, "SMTP 550")
    assert adapters.store.claim_email(job.id, "failed", now, lease)
    emails = client.get(f"/api/jobs/{job.id}").get_json()["emails"]
    assert [(e["kind"], e["state"], e["attempts"], e["detail"]) for e in emails] == [
        ("started", "sent", 1, None),
        ("ready", "refused", 1, "SMTP 550"),
        ("failed", "pending", 1, None),
    ]
    page = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "Ready email: refused by the mail server (SMTP 550)" in page
    assert "Started email: sent" in page and 'data-mail-in-flight="yes"' in page
    assert OWNER_EMAIL not in page


def test_get_of_a_ready_job_gives_the_public_download_url(client: FlaskClient, adapters: Adapters) -> None:
    job, token = make_ready_job(adapters, b"zip bytes")
    data = client.get(f"/api/jobs/{job.id}").get_json()
    assert data["status"] == "ready"
    assert data["download_url"] == f"http://gateway.test/download/{token}"
    assert datetime.fromisoformat(data["expires_at"]) == NOW + timedelta(hours=1)
    assert data["zip_bytes"] == len(b"zip bytes")


def test_past_its_expiry_a_ready_job_offers_no_download_url(tmp_path: Path) -> None:
    clock = SettableClock(NOW)
    adapters = embedded_adapters(tmp_path, clock)
    client = create_app(adapters).test_client()
    job, _ = make_ready_job(adapters, b"zip bytes", ttl=60)
    clock.advance(seconds=61)
    data = client.get(f"/api/jobs/{job.id}").get_json()
    assert data["status"] == "ready"
    assert data["download_url"] is None
    adapters.close()


@pytest.mark.parametrize("job_id", ["0" * 32, "nope"])
def test_unknown_jobs_are_404_json(client: FlaskClient, job_id: str) -> None:
    for method in ("GET", "DELETE"):
        response = client.open(f"/api/jobs/{job_id}", method=method)
        assert response.status_code == 404
        assert set(response.get_json()["errors"]) == {"id"}


def test_delete_cancels_a_scheduled_job_once(client: FlaskClient, adapters: Adapters) -> None:
    job = add_job(adapters)
    response = client.delete(f"/api/jobs/{job.id}")
    assert response.status_code == 200
    data = response.get_json()
    assert data["status"] == "cancelled"
    assert "email" not in data
    stored = adapters.store.get_job(job.id)
    assert stored is not None and stored.status is JobStatus.CANCELLED
    assert stored.finished_at == NOW
    # Repeating the DELETE changes nothing and is not an error.
    again = client.delete(f"/api/jobs/{job.id}")
    assert again.status_code == 200 and again.get_json()["status"] == "cancelled"


@pytest.mark.parametrize("status", [JobStatus.RUNNING, JobStatus.PACKAGING, JobStatus.FAILED])
def test_delete_of_a_started_job_is_409(client: FlaskClient, adapters: Adapters, status: JobStatus) -> None:
    job = add_job(adapters, status=status)
    response = client.delete(f"/api/jobs/{job.id}")
    assert response.status_code == 409
    assert set(response.get_json()["errors"]) == {"status"}
    stored = adapters.store.get_job(job.id)
    assert stored is not None and stored.status is status


def test_unknown_api_paths_and_methods_answer_json(client: FlaskClient, adapters: Adapters) -> None:
    missing = client.get("/api/nothing-here")
    assert missing.status_code == 404 and "errors" in missing.get_json()
    job = add_job(adapters)
    wrong = client.put(f"/api/jobs/{job.id}", json={})
    assert wrong.status_code == 405
    assert "errors" in wrong.get_json()
    assert {"GET", "DELETE"} <= {m.strip() for m in wrong.headers["Allow"].split(",")}
