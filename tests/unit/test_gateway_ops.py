"""Operator endpoints, the app factory, static files and error pages of the gateway."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from services import wsgi
from services.bootstrap import bootstrap, migrate
from services.gateway.app import create_app
from shared.adapters.memory.bus import MemoryBus
from shared.adapters.sqlite.store import SqliteJobStore
from shared.ports import Adapters
from tests.support import SettableClock, embedded_adapters, embedded_settings, make_ready_job
from tests.unit.test_gateway_support import metric, post_form


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(datetime.now(UTC))


def test_healthz_and_readyz(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {"store": "ok", "blobs": "ok", "bus": "ok"}


def test_readyz_is_503_when_the_store_cannot_be_opened(tmp_path: Path) -> None:
    # Something that is not a database where the database file should be: SQLite cannot read it.
    (tmp_path / "not-a-database").write_bytes(b"\x00garbage" * 1024)
    broken = bootstrap(embedded_settings(tmp_path), store=SqliteJobStore(tmp_path / "not-a-database"))
    response = create_app(broken).test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["store"] == "unavailable"
    assert create_app(broken).test_client().get("/healthz").status_code == 200


class UnreachableBus(MemoryBus):
    """The embedded bus, as a broker that has gone away would answer a probe."""

    def ping(self) -> None:
        raise ConnectionError("broker unreachable")


def test_readyz_is_unavailable_when_the_bus_cannot_be_reached(tmp_path: Path) -> None:
    broken = embedded_adapters(tmp_path, bus=UnreachableBus())
    try:
        response = create_app(broken).test_client().get("/readyz")
        assert response.status_code == 503
        assert response.get_json()["checks"] == {"store": "ok", "blobs": "ok", "bus": "unavailable"}
    finally:
        broken.close()


def test_metrics_count_submissions_failures_downloads_and_expired_hits(client: FlaskClient, adapters: Adapters) -> None:
    client.post("/api/jobs", json={"query": "owls", "email": "o@example.com", "count": 2})
    client.post("/api/jobs", json={"query": "owls", "count": 2})
    post_form(client, "/jobs", {"query": "owls"})
    job, token = make_ready_job(adapters, b"PK zip")
    client.get(f"/download/{token}")
    adapters.store.purge_job(job.id)
    client.get(f"/download/{token}")
    client.get(f"/download/{token}")

    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain")
    text = response.get_data(as_text=True)
    assert metric(text, "imgjob_gateway_submissions_total", '{channel="api"}') == 1
    assert metric(text, "imgjob_gateway_validation_failures_total", '{channel="api"}') == 1
    assert metric(text, "imgjob_gateway_validation_failures_total", '{channel="form"}') == 1
    assert metric(text, "imgjob_gateway_downloads_total") == 1
    assert metric(text, "imgjob_gateway_expired_link_hits_total") == 2


def test_each_app_counts_on_its_own_registry(adapters: Adapters) -> None:
    first, second = create_app(adapters).test_client(), create_app(adapters).test_client()
    first.post("/api/jobs", json={"query": "owls", "email": "o@example.com", "count": 2})
    text = second.get("/metrics").get_data(as_text=True)
    assert metric(text, "imgjob_gateway_submissions_total", '{channel="api"}') == 0


def test_openapi_describes_the_json_api(client: FlaskClient) -> None:
    doc = client.get("/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    jobs, job = doc["paths"]["/api/jobs"], doc["paths"]["/api/jobs/{job_id}"]
    assert set(jobs["post"]["responses"]) >= {"201", "400", "422"}
    assert set(job) >= {"get", "delete"}
    assert "409" in job["delete"]["responses"]
    errors = doc["components"]["schemas"]["Errors"]
    assert errors["properties"]["errors"]["additionalProperties"] == {"type": "string"}
    assert "email" not in doc["components"]["schemas"]["Job"]["properties"]
    assert doc["components"]["schemas"]["JobRequest"]["properties"]["count"]["maximum"] == 500


def test_static_files_are_versioned_and_cacheable(client: FlaskClient) -> None:
    html = client.get("/").get_data(as_text=True)
    urls = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert {url.split("?")[0] for url in urls} == {"/static/style.css", "/static/form.js"}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200
        assert "max-age=31536000" in response.headers["Cache-Control"]
        response.close()


def test_html_errors_outside_the_api(client: FlaskClient) -> None:
    missing = client.get("/no/such/page")
    assert missing.status_code == 404 and "text/html" in missing.content_type
    wrong = client.get("/jobs")
    assert wrong.status_code == 405 and "text/html" in wrong.content_type
    assert "POST" in wrong.headers["Allow"]
    big = client.post("/jobs", data={"query": "x" * 100_000})
    assert big.status_code == 413 and "text/html" in big.content_type


def test_pages_are_not_cached_and_do_not_leak_tokens_through_referer(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_wsgi_app_builds_from_the_environment_and_waits_for_migrate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("IMGJOB_STORE_URL", "sqlite:///var/env.sqlite3")
    monkeypatch.setenv("IMGJOB_BLOB_URL", "file:var/blobs")
    monkeypatch.setenv("IMGJOB_MAIL_OUTBOX", "var/outbox")
    monkeypatch.setenv("IMGJOB_SECRET_KEY", "from-env-" + "k" * 32)
    app = wsgi.create_app()
    try:
        assert app.config["SECRET_KEY"] == "from-env-" + "k" * 32
        client = app.test_client()
        unmigrated = client.get("/readyz")
        assert unmigrated.status_code == 503
        assert "imgjob migrate" in unmigrated.get_json()["checks"]["store"]
        assert "imgjob migrate" in unmigrated.get_json()["checks"]["blobs"]
        # Starting the gateway created nothing: the schema and the bucket are `imgjob migrate`'s.
        assert not (tmp_path / "var" / "env.sqlite3").exists() and not (tmp_path / "var" / "blobs").exists()
        migrate(app.extensions["imgjob"])
        assert client.get("/readyz").status_code == 200
        created = client.post("/api/jobs", json={"query": "owls", "email": "o@example.com", "count": 2})
        assert created.status_code == 201
        assert client.get(f"/api/jobs/{created.get_json()['id']}").status_code == 200
    finally:
        app.extensions["imgjob"].close()
