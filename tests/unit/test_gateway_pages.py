"""The HTML side of the gateway: the form, its validation, the status page, cancelling, the retry page."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask.testing import FlaskClient

from shared.domain.model import JobStatus
from shared.events import JOB_DUE
from shared.ports import Adapters
from shared.signing import retry_signature
from tests.support import NOW, OWNER_EMAIL, EventRecorder, add_job
from tests.unit.test_gateway_support import post_form, submitted


def all_jobs(adapters: Adapters) -> list[str]:
    return [job.id for status in JobStatus for job in adapters.store.jobs_in(status)]


def valid_form(**changes: str) -> dict[str, str]:
    form = {
        "query": "red vintage bicycles",
        "email": "someone@example.com",
        "count": "25",
        "date": "2030-03-15",
        "time": "14:05",
        "timezone": "Europe/Paris",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


def field_error(html: str, field: str) -> str:
    match = re.search(rf'<p class="field-error" id="{field}-error"[^>]*>([^<]*)</p>', html)
    assert match, f"no error slot for {field}"
    return match.group(1)


def test_form_has_every_field_and_no_inline_script(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    for name, kind in [("query", "text"), ("email", "email"), ("date", "date"), ("time", "time")]:
        assert re.search(rf'<input id="{name}" name="{name}" type="{kind}"', html)
    assert re.search(r'name="count" type="number" required min="1" max="500"', html)
    assert 'name="now" type="checkbox"' in html
    assert 'type="hidden" id="timezone" name="timezone"' in html
    assert re.search(r'<script src="/static/form\.js\?v=[0-9a-f]+" defer></script>', html)
    # Every script comes from a file: a later content security policy forbids inline code.
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)
    assert not re.search(r"\son[a-z]+\s*=", html)


def test_query_parameters_prefill_the_form(client: FlaskClient) -> None:
    html = client.get("/?query=cats%20%3Cb%3E&count=20&email=a%40b.co&now=1").get_data(as_text=True)
    assert 'value="cats &lt;b&gt;"' in html
    assert 'name="count" type="number"' in html and 'value="20"' in html
    assert 'value="a@b.co"' in html
    assert re.search(r'id="now" name="now" type="checkbox" value="1" checked', html)
    # "As soon as possible": date and time are then not required.
    assert not re.search(r'id="date"[^>]*required', html)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"query": ""}, "query", "Enter what to search for."),
        ({"email": ""}, "email", "Enter the email address"),
        ({"email": "not-an-address"}, "email", "Enter a valid email address"),
        ({"count": "0"}, "count", "Choose from 1 to 500 images."),
        ({"count": "501"}, "count", "Choose from 1 to 500 images."),
        ({"count": "many"}, "count", "Enter a whole number"),
        ({"date": ""}, "date", "Choose a date."),
        ({"time": ""}, "time", "Choose a time."),
        ({"date": "2030-03-14", "time": "09:00", "timezone": "UTC"}, "time", "Choose a time in the future."),
    ],
)
def test_invalid_form_is_shown_again_with_the_message_next_to_the_field(
    client: FlaskClient, adapters: Adapters, changes: dict[str, str], field: str, message: str
) -> None:
    response = post_form(client, "/jobs", data=valid_form(**changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in field_error(html, field)
    assert f'id="{field}"' in html and "aria-invalid" in html
    # What the person typed is still there.
    if field != "query":
        assert 'value="red vintage bicycles"' in html
    assert all_jobs(adapters) == []


def test_past_is_judged_in_the_persons_time_zone(client: FlaskClient, adapters: Adapters) -> None:
    # Two hours ago on Kiritimati's wall clock (UTC+14): read as UTC, or as Los Angeles time, it lies ahead.
    local = NOW.astimezone(ZoneInfo("Pacific/Kiritimati")) - timedelta(hours=2)
    form = valid_form(date=local.date().isoformat(), time=local.strftime("%H:%M"), timezone="Pacific/Kiritimati")
    response = post_form(client, "/jobs", data=form)
    assert response.status_code == 400
    assert "Choose a time in the future." in field_error(response.get_data(as_text=True), "time")
    assert all_jobs(adapters) == []

    accepted = post_form(client, "/jobs", data=dict(form, timezone="America/Los_Angeles"))
    assert accepted.status_code == 303


def test_a_time_too_far_ahead_is_refused(client: FlaskClient, adapters: Adapters) -> None:
    response = post_form(client, "/jobs", data=valid_form(date="2031-03-16", time="09:00", timezone="UTC"))
    assert response.status_code == 400
    assert field_error(response.get_data(as_text=True), "time") == "Choose a time within 365 days."
    assert all_jobs(adapters) == []
    assert post_form(client, "/jobs", data=valid_form(date="2031-03-13", timezone="UTC")).status_code == 303


def test_the_form_states_the_limit_it_enforces(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    assert 'data-max-ahead-days="365"' in html
    assert "at most 365 days ahead" in html


def test_fields_the_form_does_not_have_are_refused(client: FlaskClient, adapters: Adapters) -> None:
    response = post_form(client, "/jobs", data=valid_form(priority="high", admin="1"))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The form sent fields it does not have (admin, priority)." in html
    assert 'value="red vintage bicycles"' in html
    assert all_jobs(adapters) == []


def test_a_date_at_the_edge_of_the_calendar_is_an_error_not_a_crash(client: FlaskClient, adapters: Adapters) -> None:
    response = post_form(client, "/jobs", data=valid_form(date="9999-12-31", time="23:59", timezone="America/New_York"))
    assert response.status_code == 400
    assert all_jobs(adapters) == []


def test_submitting_stores_a_scheduled_job_and_publishes_job_due(client: FlaskClient, adapters: Adapters) -> None:
    due = EventRecorder(adapters, "test.due", [JOB_DUE])
    adapters.bus.start()
    response = post_form(client, "/jobs", data=valid_form(now="1", date="", time=""))
    assert response.status_code == 303
    job_id = response.headers["Location"].rsplit("/", 1)[-1]
    assert response.headers["Location"] == f"/jobs/{job_id}"

    job = adapters.store.get_job(job_id)
    assert job is not None
    assert submitted(job) == (JobStatus.SCHEDULED, "red vintage bicycles", "someone@example.com", 25, "Europe/Paris")
    assert job.scheduled_at == NOW and job.created_at == NOW
    [event] = due.wait_for(JOB_DUE)
    assert event.job_id == job_id
    assert datetime.fromisoformat(event.payload["scheduled_at"]) == NOW


def test_a_later_time_is_stored_in_utc(client: FlaskClient, adapters: Adapters) -> None:
    response = post_form(client, "/jobs", data=valid_form())
    job = adapters.store.get_job(response.headers["Location"].rsplit("/", 1)[-1])
    assert job is not None
    # 14:05 in Paris on 15 March 2030 is 13:05 UTC (winter time).
    assert job.scheduled_at == datetime(2030, 3, 15, 13, 5, tzinfo=UTC)


def test_status_page_shows_the_job_in_its_time_zone_and_never_the_email(
    client: FlaskClient, adapters: Adapters
) -> None:
    job = add_job(adapters, query='<script>alert("x")</script>')
    adapters.store.update_progress(job.id, links_found=7, images_downloaded=4, images_failed=1, bytes_downloaded=2_500)
    html = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert '<script>alert("x")' not in html
    # NOW + 1 h = 10:30 UTC = 11:30 in Paris.
    assert "Thu 14 Mar 2030, 11:30 (Europe/Paris)" in html
    assert 'data-field="links_found">7<' in html
    assert 'data-field="images_downloaded">4<' in html
    assert 'data-field="images_failed">1<' in html
    assert 'data-field="bytes_downloaded">2.5 KB<' in html
    assert f'data-api-url="/api/jobs/{job.id}"' in html
    assert f'action="/jobs/{job.id}/cancel"' in html
    assert OWNER_EMAIL not in html and "owner.secret" not in html


def test_status_page_of_a_failed_job_gives_the_reason(client: FlaskClient, adapters: Adapters) -> None:
    job = add_job(adapters, status=JobStatus.FAILED)
    html = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert 'data-field="failure_reason">no images found<' in html
    assert re.search(r'<form method="post" action="[^"]+/cancel" data-part="cancel"\s+hidden', html)
    assert OWNER_EMAIL not in html


@pytest.mark.parametrize("job_id", ["0" * 32, "not-an-id", "../../etc"])
def test_unknown_job_pages_are_404(client: FlaskClient, job_id: str) -> None:
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/again"):
        response = client.get(path)
        assert response.status_code == 404
        assert "text/html" in response.content_type


def test_cancel_button_cancels_and_goes_back_to_the_status_page(client: FlaskClient, adapters: Adapters) -> None:
    job = add_job(adapters)
    response = post_form(client, f"/jobs/{job.id}/cancel")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/jobs/{job.id}"
    cancelled = adapters.store.get_job(job.id)
    assert cancelled is not None and cancelled.status is JobStatus.CANCELLED
    assert cancelled.expires_at == NOW + timedelta(seconds=adapters.settings.link_ttl)
    html = client.get(f"/jobs/{job.id}").get_data(as_text=True)
    assert "The job is cancelled" in html
    assert 'data-field="status">Cancelled<' in html
    # The same search can be scheduled again from here.
    assert re.search(
        r'<p data-part="retry">\s*<a class="button" href="/\?query=red\+bikes&amp;count=3&amp;now=1"', html
    )


def test_a_started_job_cannot_be_cancelled_from_the_page(client: FlaskClient, adapters: Adapters) -> None:
    job = add_job(adapters, status=JobStatus.RUNNING)
    response = post_form(client, f"/jobs/{job.id}/cancel", follow_redirects=True)
    assert "can no longer be cancelled" in response.get_data(as_text=True)
    stored = adapters.store.get_job(job.id)
    assert stored is not None and stored.status is JobStatus.RUNNING


def test_retry_link_fills_the_form_and_schedules_nothing(client: FlaskClient, adapters: Adapters) -> None:
    due = EventRecorder(adapters, "test.due", [JOB_DUE])
    adapters.bus.start()
    job = add_job(adapters, query="tabby & kittens", status=JobStatus.FAILED)
    signature = retry_signature(adapters.settings.secret_key, job.id)
    response = client.get(f"/jobs/{job.id}/again?sig={signature}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="tabby &amp; kittens"' in html
    assert 'value="3"' in html
    assert f'value="{OWNER_EMAIL}"' in html
    assert re.search(r'id="now" name="now" type="checkbox" value="1" checked', html)
    assert 'action="/jobs"' in html
    assert all_jobs(adapters) == [job.id]
    assert adapters.bus.wait_idle(5)
    assert due.events == []

    adapters.store.purge_job(job.id)
    assert client.get(f"/jobs/{job.id}/again?sig={signature}").status_code == 404


@pytest.mark.parametrize("query", ["", "?sig="])
def test_an_unsigned_retry_link_fills_the_form_without_the_email(
    client: FlaskClient, adapters: Adapters, query: str
) -> None:
    job = add_job(adapters, query="tabby & kittens", status=JobStatus.FAILED)
    response = client.get(f"/jobs/{job.id}/again{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="tabby &amp; kittens"' in html
    assert OWNER_EMAIL not in html


@pytest.mark.parametrize(
    "signature",
    [
        "0" * 32,
        "not-a-signature",
        "%C3%A9" * 32,  # non-ASCII: str comparison would raise TypeError (a 500)
        "%FF%FE",  # not even UTF-8
        "%ED%B3%BF",  # an encoded surrogate
        "%00",
        "SIG",
    ],
)
def test_a_wrongly_signed_retry_link_is_refused_with_a_403_page(
    client: FlaskClient, adapters: Adapters, signature: str
) -> None:
    job = add_job(adapters, query="tabby & kittens", status=JobStatus.FAILED)
    right = retry_signature(adapters.settings.secret_key, job.id)
    for sig in (signature, right.upper(), right[:-1], right + "0"):
        response = client.get(f"/jobs/{job.id}/again?sig={sig}")
        html = response.get_data(as_text=True)
        assert response.status_code == 403, sig
        assert "text/html" in response.content_type
        assert "This link is not valid" in html
        assert OWNER_EMAIL not in html and "tabby" not in html
        # The way on: the same search, filled in without the address.
        assert f'href="/jobs/{job.id}/again"' in html
