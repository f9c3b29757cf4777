"""Webhook secrets, delivery ids and signatures, and the rules of a delivery's tries (pure functions)."""

from __future__ import annotations

import hashlib
import hmac
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shared.domain.webhooks import MAX_RETRY_DELAY, Outcome, WebhookDelivery, next_try_at, outcome_of, retry_delay
from shared.webhooks import delivery_id, headers, signature, webhook_secret

NOW = datetime(2030, 3, 14, 9, 30, tzinfo=UTC)


def test_the_secret_is_per_job_and_per_key_and_never_the_key() -> None:
    secret = webhook_secret("server-key", "job-1")
    assert len(secret) == 64 and int(secret, 16) >= 0
    assert secret == webhook_secret("server-key", "job-1")
    assert secret != webhook_secret("server-key", "job-2")
    assert secret != webhook_secret("another-key", "job-1")
    assert "server-key" not in secret


def test_the_delivery_id_is_one_per_job_and_event() -> None:
    first = delivery_id("k", "job-1", "job.ready")
    assert len(first) == 32 and first == delivery_id("k", "job-1", "job.ready")
    assert first not in {delivery_id("k", "job-1", "job.failed"), delivery_id("k", "job-2", "job.ready")}


def test_the_signature_is_an_hmac_sha256_of_timestamp_dot_body() -> None:
    body = b'{"type":"job.ready"}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert signature("s3cret", 1700000000, body) == f"sha256={expected}"
    assert signature("s3cret", 1700000001, body) != signature("s3cret", 1700000000, body)


def test_the_headers_of_a_try() -> None:
    delivery = WebhookDelivery("job-1", "job.ready", "d" * 32, "https://x.example/h", '{"a":1}', NOW)
    sent = headers("s3cret", delivery, 1700000000)
    assert sent["X-Imgjob-Event"] == "job.ready"
    assert sent["X-Imgjob-Delivery"] == "d" * 32
    assert sent["X-Imgjob-Timestamp"] == "1700000000"
    assert sent["X-Imgjob-Signature"] == signature("s3cret", 1700000000, b'{"a":1}')
    assert sent["Content-Type"] == "application/json"


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (200, Outcome.DELIVERED),
        (202, Outcome.DELIVERED),
        (204, Outcome.DELIVERED),
        (301, Outcome.REDIRECTED),
        (308, Outcome.REDIRECTED),
        (400, Outcome.RETRY),
        (404, Outcome.RETRY),
        (410, Outcome.GONE),
        (429, Outcome.RETRY),
        (500, Outcome.RETRY),
        (503, Outcome.RETRY),
    ],
)
def test_what_an_answer_means(status: int, outcome: Outcome) -> None:
    assert outcome_of(status) is outcome


def test_the_waits_grow_up_to_an_hour() -> None:
    waits = [retry_delay(n, 10) for n in range(1, 15)]
    assert waits[:4] == [timedelta(seconds=s) for s in (10, 20, 40, 80)]
    assert waits == sorted(waits) and waits[-1] == MAX_RETRY_DELAY


def test_tries_stop_after_a_day_with_the_defaults() -> None:
    # As the handler calls it: after the n-th failed try, with attempts = n.
    delivery = WebhookDelivery("job-1", "job.ready", "d" * 32, "https://x.example/h", "{}", NOW, attempts=1)
    max_age, now, tries = timedelta(days=1), NOW, 1
    while (at := next_try_at(delivery, now, 10, max_age)) is not None:
        assert at <= NOW + max_age
        now, tries = at, tries + 1
        delivery = WebhookDelivery(**{**delivery.__dict__, "attempts": tries})
    assert 20 <= tries <= 40, tries  # a dozen quick tries, then about one an hour for the rest of the day
    assert delivery.keep_until(max_age) > NOW + max_age


def readme_verify() -> Any:
    """The `verify` function README's "Webhooks" section gives receivers, as written there."""
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = text.split("Verifying a delivery", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict[str, Any] = {}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace["verify"]


def test_the_readme_snippet_verifies_a_delivery_and_refuses_tampering() -> None:
    verify = readme_verify()
    delivery = WebhookDelivery("job-1", "job.ready", "d" * 32, "https://x.example/h", '{"type":"job.ready"}', NOW)
    secret = webhook_secret("server-key", "job-1")
    now = int(time.time())
    sent = headers(secret, delivery, now)
    body = delivery.body.encode()
    assert verify(secret, sent, body)
    assert not verify(secret, sent, body.replace(b"ready", b"failed"))
    assert not verify(webhook_secret("server-key", "job-2"), sent, body)
    assert not verify(secret, headers(secret, delivery, now - 3600), body), "an old timestamp is a replay"
    assert not verify(secret, {**sent, "X-Imgjob-Signature": "sha256=" + "0" * 64}, body)
