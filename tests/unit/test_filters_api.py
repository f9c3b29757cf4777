"""Filters through the gateway: `POST /api/jobs` and the form's "Advanced" section, refused values naming the
field, and the filters shown back on the status page, in `GET /api/jobs/<id>`, in /openapi.json and in the
emails."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from services.notifier import emails
from shared.config import Settings
from shared.domain.filters import Filters
from shared.domain.model import JobStatus
from shared.ports import Adapters
from tests.support import add_job, new_job
from tests.unit.test_gateway_support import csrf_token

CHOSEN = {"size": "large", "type": "photo", "min_width": 800, "formats": ["png", "jpeg"]}


def api_body(**changes: object) -> dict[str, object]:
    return {"query": "lighthouses", "email": "api@example.com", "count": 10, **changes}


def form_data(**changes: object) -> dict[str, object]:
    data: dict[str, object] = {"query": "lighthouses", "email": "form@example.com", "count": "10", "now": "1"}
    data |= {f"filters.{name}": "" for name in ("size", "type", "color", "layout", "license", "age")}
    data |= {"filters.safe": "moderate", "filters.min_width": "", "filters.min_height": "", "timezone": "UTC"}
    return data | changes


def test_the_api_stores_the_filters_and_shows_them_back(client: FlaskClient, adapters: Adapters) -> None:
    created = client.post("/api/jobs", json=api_body(filters=CHOSEN))
    assert created.status_code == 201, created.get_json()
    job_id = created.get_json()["id"]
    job = adapters.store.get_job(job_id)
    assert job is not None
    assert job.filters == Filters(size="large", type="photo", min_width=800, formats=("jpeg", "png"))

    shown = client.get(f"/api/jobs/{job_id}").get_json()
    assert shown["filters"] == {
        "size": "large",
        "type": "photo",
        "safe": "moderate",
        "min_width": 800,
        "formats": ["jpeg", "png"],
    }
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert '<dd data-part="filters">size large, type photo, min width 800, formats jpeg png</dd>' in page


def test_a_job_without_filters_shows_none_on_its_page(client: FlaskClient) -> None:
    job_id = client.post("/api/jobs", json=api_body()).get_json()["id"]
    assert client.get(f"/api/jobs/{job_id}").get_json()["filters"] == {"safe": "moderate"}
    assert 'data-part="filters"' not in client.get(f"/jobs/{job_id}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"size": "huge"}, "filters.size"),
        ({"colour": "red"}, "filters.colour"),
        ({"color": "magenta"}, "filters.color"),
        ({"safe": "none"}, "filters.safe"),
        ({"license": "any"}, "filters.license"),
        ({"age": "hour"}, "filters.age"),
        ({"min_width": 0}, "filters.min_width"),
        ({"min_width": 10001}, "filters.min_width"),
        ({"min_height": True}, "filters.min_height"),
        ({"min_height": 2.5}, "filters.min_height"),
        ({"formats": ["jpeg", "bmp"]}, "filters.formats"),
        ({"formats": [1]}, "filters.formats"),
        ("large", "filters"),
        (["size", "large"], "filters"),
    ],
)
def test_bad_filters_are_a_422_naming_the_field(
    client: FlaskClient, adapters: Adapters, filters: object, field: str
) -> None:
    response = client.post("/api/jobs", json=api_body(filters=filters))
    assert response.status_code == 422
    assert list(response.get_json()["errors"]) == [field]


def test_openapi_describes_the_filters(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    assert schemas["JobRequest"]["properties"]["filters"] == {"$ref": "#/components/schemas/Filters"}
    filters = schemas["Filters"]
    assert filters["additionalProperties"] is False
    assert set(filters["properties"]) == {*Filters().__dataclass_fields__}
    assert filters["properties"]["formats"]["items"]["enum"] == ["jpeg", "png", "webp", "gif"]
    assert filters["properties"]["size"]["enum"] == ["small", "medium", "large", "wallpaper", None]


def test_the_form_has_a_closed_advanced_section_with_every_filter(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert re.search(r'<details class="advanced" id="advanced">', page), "closed by default"
    for name in ("size", "type", "color", "layout", "license", "age", "safe"):
        assert f'<select id="filters.{name}" name="filters.{name}"' in page
    assert '<option value="moderate" selected>' in page
    for name in ("min_width", "min_height"):
        assert re.search(rf'<input id="filters.{name}" name="filters.{name}" type="number" min="1" max="10000"', page)
    for name in ("jpeg", "png", "webp", "gif"):
        assert f'name="filters.formats" type="checkbox" value="{name}">' in page


def test_the_form_submits_filters_with_every_ticked_format(client: FlaskClient, adapters: Adapters) -> None:
    data = form_data(**{"filters.size": "wallpaper", "filters.min_height": "600", "filters.formats": ["gif", "webp"]})
    response = client.post("/jobs", data=data | {"csrf_token": csrf_token(client)})
    assert response.status_code == 303, response.get_data(as_text=True)
    job_id = response.headers["Location"].rsplit("/", 1)[1]
    job = adapters.store.get_job(job_id)
    assert job is not None and job.status is JobStatus.SCHEDULED
    assert job.filters == Filters(size="wallpaper", min_height=600, formats=("webp", "gif"))


def test_form_errors_show_next_to_their_fields_in_the_opened_section(client: FlaskClient) -> None:
    data = form_data(**{"filters.size": "huge", "filters.min_width": "0", "filters.formats": ["png", "tiff"]})
    response = client.post("/jobs", data=data | {"csrf_token": csrf_token(client)})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert '<details class="advanced" id="advanced" open>' in page
    for field, message in [
        ("filters.size", "Choose size from small, medium, large, wallpaper."),
        ("filters.min_width", "min_width must be a whole number of pixels from 1 to 10000."),
        ("filters.formats", "Unknown format &#39;tiff&#39;; choose from jpeg, png, webp, gif."),
    ]:
        assert f'<p class="field-error" id="{field}-error" aria-live="polite">{message}</p>' in page
    assert 'id="filters.size" name="filters.size" aria-invalid="true"' in page
    # What was typed is kept.
    assert 'value="png" checked' in page and 'value="0" aria-invalid="true"' in page


def test_a_filter_the_form_does_not_have_is_refused(client: FlaskClient) -> None:
    data = form_data(**{"filters.colour": "red"})
    response = client.post("/jobs", data=data | {"csrf_token": csrf_token(client)})
    assert response.status_code == 400
    assert "The form sent fields it does not have (filters.colour)" in response.get_data(as_text=True)


@pytest.mark.parametrize("kind", [emails.STARTED, emails.READY, emails.FAILED])
def test_every_email_names_the_filters_when_there_are_some(kind: str) -> None:
    settings = Settings(public_url="http://gateway.test", secret_key="k" * 40)
    now = datetime(2030, 6, 1, 10, 0, tzinfo=UTC)
    status = {emails.STARTED: JobStatus.RUNNING, emails.READY: JobStatus.READY, emails.FAILED: JobStatus.FAILED}[kind]
    filtered = new_job(lambda: now, status=status, token_hash="h", filters=Filters(color="bw", min_width=1200))
    mail = emails.render(kind, filtered, settings)
    assert "Filters: color bw, min width 1200" in mail.text
    assert "Filters: color bw, min width 1200" in mail.html
    plain = emails.render(kind, new_job(lambda: now, status=status, token_hash="h"), settings)
    assert "Filters:" not in plain.text and "Filters:" not in plain.html


def test_the_retry_page_fills_in_the_failed_jobs_filters(client: FlaskClient, adapters: Adapters) -> None:
    job = add_job(adapters, status=JobStatus.FAILED, filters=Filters(layout="tall", safe="off", formats=("png",)))
    page = client.get(f"/jobs/{job.id}/again").get_data(as_text=True)
    assert '<details class="advanced" id="advanced" open>' in page
    assert '<option value="tall" selected>' in page and '<option value="off" selected>' in page
    assert 'value="png" checked' in page and 'value="jpeg" checked' not in page
