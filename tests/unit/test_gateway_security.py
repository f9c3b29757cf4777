"""CSRF protection of the forms, the security headers, and pages a content security policy can allow."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from services.gateway.app import CONTENT_SECURITY_POLICY, create_app
from shared.domain.model import JobStatus
from shared.ports import Adapters
from tests.support import add_job, embedded_adapters, make_ready_job
from tests.unit.test_gateway_support import csrf_token, metric, post_form

FORM = {"query": "red vintage bicycles", "email": "someone@example.com", "count": "25", "now": "1"}


def jobs(adapters: Adapters) -> list[str]:
    return [job.id for status in JobStatus for job in adapters.store.jobs_in(status)]


@pytest.mark.parametrize("token", [None, "", "forged", "é" * 10])
def test_a_form_post_without_the_sessions_token_is_refused_and_keeps_what_was_typed(
    client: FlaskClient, adapters: Adapters, token: str | None
) -> None:
    csrf_token(client)  # the session has a token; the post does not carry it
    data = dict(FORM) if token is None else {**FORM, "csrf_token": token}
    response = client.post("/jobs", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "This form had expired or came from somewhere else, so nothing was sent." in html
    assert 'value="red vintage bicycles"' in html and 'value="someone@example.com"' in html
    assert jobs(adapters) == []
    # The page comes with a fresh, valid token: submitting it again works.
    again = post_form(client, "/jobs", FORM)
    assert again.status_code == 303
    assert metric(client.get("/metrics").get_data(as_text=True), "imgjob_gateway_csrf_failures_total") == 1


def test_a_token_from_another_session_is_refused(adapters: Adapters) -> None:
    app = create_app(adapters)
    attacker, victim = app.test_client(), app.test_client()
    stolen = csrf_token(attacker)
    csrf_token(victim)
    assert victim.post("/jobs", data={**FORM, "csrf_token": stolen}).status_code == 400
    assert jobs(adapters) == []


def test_a_post_without_any_session_is_refused(client: FlaskClient, adapters: Adapters) -> None:
    assert client.post("/jobs", data=FORM).status_code == 400
    assert jobs(adapters) == []


def test_cancel_needs_the_token_too(client: FlaskClient, adapters: Adapters) -> None:
    job = add_job(adapters)
    csrf_token(client, f"/jobs/{job.id}")
    refused = client.post(f"/jobs/{job.id}/cancel")
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert "Nothing was changed" in html and f'href="/jobs/{job.id}"' in html
    stored = adapters.store.get_job(job.id)
    assert stored is not None and stored.status is JobStatus.SCHEDULED

    token = csrf_token(client, f"/jobs/{job.id}")
    assert client.post(f"/jobs/{job.id}/cancel", data={"csrf_token": token}).status_code == 303
    stored = adapters.store.get_job(job.id)
    assert stored is not None and stored.status is JobStatus.CANCELLED


def test_one_token_per_session_on_every_page(client: FlaskClient, adapters: Adapters) -> None:
    job = add_job(adapters)
    assert csrf_token(client, "/") == csrf_token(client, f"/jobs/{job.id}")
    assert csrf_token(client, "/") != csrf_token(create_app(adapters).test_client(), "/")


def test_the_json_api_needs_no_token(client: FlaskClient) -> None:
    response = client.post("/api/jobs", json={"query": "owls", "email": "o@example.com", "count": 2})
    assert response.status_code == 201


def test_security_headers_on_pages_api_and_static_files(client: FlaskClient, adapters: Adapters) -> None:
    assert CONTENT_SECURITY_POLICY.startswith(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    job = add_job(adapters)
    for path in ("/", f"/jobs/{job.id}", f"/api/jobs/{job.id}", "/static/style.css", "/no/such/page"):
        response = client.get(path)
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY, path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "no-referrer", path
        response.close()


def test_the_session_cookie_is_http_only_same_site_and_secure_behind_https(tmp_path: Path) -> None:
    plain = create_app(embedded_adapters(tmp_path / "a")).test_client().get("/")
    cookie = plain.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    https = embedded_adapters(tmp_path / "b", public_url="https://imgjob.example.com")
    assert "Secure" in create_app(https).test_client().get("/").headers["Set-Cookie"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)
INLINE_STYLE = re.compile(r"<style|\sstyle\s*=", re.IGNORECASE)


def every_page(client: FlaskClient, adapters: Adapters) -> dict[str, str]:
    pages = {"form": client.get("/").get_data(as_text=True)}
    pages["form with errors"] = client.post("/jobs", data={"query": ""}).get_data(as_text=True)
    pages["form refused"] = post_form(client, "/jobs", {"query": ""}).get_data(as_text=True)
    for status in (JobStatus.SCHEDULED, JobStatus.RUNNING, JobStatus.FAILED):
        job = add_job(adapters, status=status)
        pages[f"status {status}"] = client.get(f"/jobs/{job.id}").get_data(as_text=True)
        pages[f"again {status}"] = client.get(f"/jobs/{job.id}/again").get_data(as_text=True)
    ready, token = make_ready_job(adapters, b"zip")
    pages["status ready"] = client.get(f"/jobs/{ready.id}").get_data(as_text=True)
    adapters.store.purge_job(ready.id)
    pages["expired"] = client.get(f"/download/{token}").get_data(as_text=True)
    pages["not found"] = client.get("/nothing").get_data(as_text=True)
    pages["method"] = client.get("/jobs").get_data(as_text=True)
    return pages


def test_no_page_needs_inline_script_or_style(client: FlaskClient, adapters: Adapters) -> None:
    """The policy forbids inline code and inline style attributes; no page may depend on them."""
    for name, html in every_page(client, adapters).items():
        assert "<html" in html, name
        assert not INLINE_SCRIPT.search(html), name
        assert not INLINE_HANDLER.search(html), name
        assert not INLINE_STYLE.search(html), name
        assert "javascript:" not in html, name
