"""No input, however odd, makes the gateway answer 5xx."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from shared.ports import Adapters
from tests.support import SettableClock, make_ready_job
from tests.unit.test_gateway_support import csrf_token

ODD_TEXT = [
    "", " ", "0", "-1", "501", "1e9", "9" * 5000, "\x00", "😀", "<script>", "%", "true", "[]",
    "2030-01-01", "9999-12-31", "0001-01-01", "23:59", "24:00", "12:00:00.123456",
    "America/New_York", "Pacific/Kiritimati", "../x", "a@b.co", "x" * 300,
    "2030-01-01T00:00:00+25:00", "9999-12-31T23:59:59+14:00", "0001-01-01T00:00:00-14:00",
]  # fmt: skip
ODD_JSON: list[object] = [*ODD_TEXT, "\ud800", None, True, 0, 10**30, 1.5, [], {}, [1], {"a": 1}]
FIELDS = ["query", "email", "count", "date", "time", "timezone", "now", "scheduled_at", "extra"]


@pytest.fixture
def clock() -> SettableClock:
    # The real time: which of the odd dates lie in the past depends on it.
    return SettableClock(datetime.now(UTC))


@pytest.fixture
def settings_changes() -> dict[str, object]:
    # Limits off: this is about what validation makes of odd input, not about how much of it is allowed.
    return {"rate_limit_per_address": "off", "rate_limit_per_email": "off"}


def test_random_form_and_api_submissions_never_get_5xx(client: FlaskClient) -> None:
    rnd = random.Random(20301)
    token = csrf_token(client)
    for _ in range(300):
        form = {f: rnd.choice(ODD_TEXT) for f in rnd.sample(FIELDS, rnd.randint(0, len(FIELDS)))}
        response = client.post("/jobs", data={**form, "csrf_token": token})
        assert response.status_code < 500, form
        body = {f: rnd.choice(ODD_JSON) for f in rnd.sample(FIELDS, rnd.randint(0, len(FIELDS)))}
        response = client.post("/api/jobs", data=json.dumps(body), content_type="application/json")
        assert response.status_code < 500, body


@pytest.mark.parametrize("method", ["GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"])
def test_odd_paths_never_get_5xx(client: FlaskClient, adapters: Adapters, method: str) -> None:
    _, token = make_ready_job(adapters, b"zip" * 100)
    paths = [
        "/jobs/%00", "/jobs/" + "a" * 5000, "/jobs/x/again", "/jobs/x/cancel", "/api/jobs/%00",
        "/download/" + "%ff" * 10, f"/download/{token}x", "/?count=%ff&query=%00&now=%ff",
        "/static/../app.py", "/static/%2e%2e/app.py", "/api/", "/metrics", "/openapi.json",
    ]  # fmt: skip
    for path in paths:
        assert client.open(path, method=method).status_code < 500, path
