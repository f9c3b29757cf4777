"""A job with a webhook URL, through the whole system (embedded, and every service as a process on the
real infrastructure): its receiver on loopback gets job.started, job.ready (retried once, same delivery
id) and, after the purge, job.expired (at least once), each signed with the secret of the 201 answer;
and then nothing of ours holds the URL."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from shared import event_contract
from tests.e2e.system import personal_data_left, running_system
from tests.fakeweb import FakeWeb
from tests.support import wait_until
from tests.support.receiver import Received, WebhookReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

LINK_TTL = 8


def signed_by(secret: str, request: Received) -> bool:
    timestamp = request.headers["X-Imgjob-Timestamp"].encode()
    expected = hmac.new(secret.encode(), timestamp + b"." + request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers["X-Imgjob-Signature"], f"sha256={expected}")


def events_of(receiver: WebhookReceiver) -> list[str]:
    return [r.headers["X-Imgjob-Event"] for r in receiver.requests()]


def test_a_jobs_events_reach_its_webhook_and_its_url_goes_after_the_last(
    web: FakeWeb, tmp_path: Path, stack: str
) -> None:
    path = f"/hooks/{uuid.uuid4().hex}"
    settings = {
        "IMGJOB_BING_URL": web.bing_url(total=20),
        "IMGJOB_LINK_TTL": str(LINK_TTL),
        "IMGJOB_WEBHOOK_FIRST_RETRY": "1",
    }
    # job.started is taken at once; job.ready's first try gets a 500 and its retry a 204.
    with WebhookReceiver(answers=[204, 500]) as receiver, running_system(stack, tmp_path, **settings) as system:
        answer = requests.post(
            f"{system.url}/api/jobs",
            json={
                "query": "red bicycles",
                "email": f"hooks-{uuid.uuid4().hex[:8]}@example.com",
                "count": 4,
                "scheduled_at": (datetime.now(UTC) + timedelta(seconds=2)).isoformat(),
                "webhook_url": f"{receiver.url}{path}",
            },
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        secret, job_id = answer.json()["webhook_secret"], answer.json()["id"]
        wait_until(
            lambda: events_of(receiver) == ["job.started", "job.ready", "job.ready"],
            timeout=120,
            what="job.started, then job.ready twice",
        )
        wait_until(lambda: "job.expired" in events_of(receiver), timeout=LINK_TTL + 60, what="job.expired")
        # The janitor announces job.expired just before it purges (so that a janitor stopped in between
        # announces it again), so the delivery may arrive a moment before the job is gone.
        gone = lambda: requests.get(f"{system.url}/api/jobs/{job_id}", timeout=5).status_code == 404  # noqa: E731
        wait_until(gone, timeout=30, what="the job purged with its job.expired")
        # The last delivery's record goes right after the 2xx: wait for the URL to be gone everywhere.
        wait_until(lambda: personal_data_left(system, path) == [], timeout=30, what="the URL gone")
    got = receiver.requests()
    assert events_of(receiver)[:3] == ["job.started", "job.ready", "job.ready"]
    assert got[1].headers["X-Imgjob-Delivery"] == got[2].headers["X-Imgjob-Delivery"]
    # The janitor's sweep and the job's expiry message can both find the job before its purge, and each
    # announces job.expired: delivery is at least once (README), every copy under the one delivery id.
    expired = got[3:]
    assert {r.headers["X-Imgjob-Event"] for r in expired} == {"job.expired"}
    assert len({r.headers["X-Imgjob-Delivery"] for r in got}) == 3
    for request in got:
        assert request.path == path and signed_by(secret, request)
        body = json.loads(request.body)
        assert body["job_id"] == job_id
        assert event_contract.problems(body, "webhook-body.v1.json") == []
    assert all(json.loads(request.body)["payload"] == {"status": "ready"} for request in expired)
