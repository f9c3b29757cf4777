"""The store's webhook deliveries (shared.ports.webhook_records), the same on SQLite and Cassandra."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.domain.webhooks import WebhookDelivery
from shared.events import JOB_EXPIRED, JOB_READY, JOB_STARTED
from shared.ports import JobStore
from tests.support import new_job, wait_until

NOW = datetime(2030, 3, 14, 9, 30, 0, 123000, tzinfo=UTC)
LATER = timedelta(days=2)


def delivery(job_id: str = "job-w1", event_type: str = JOB_STARTED, delivery_id: str = "d" * 32) -> WebhookDelivery:
    return WebhookDelivery(
        job_id=job_id,
        event_type=event_type,
        delivery_id=delivery_id,
        url="https://hooks.example.com/imgjob?token=personal",
        body='{"type":"job.started"}',
        created_at=NOW,
    )


def keep_until() -> datetime:
    return datetime.now(UTC) + LATER


def test_a_delivery_is_added_once_per_job_and_event(store: JobStore) -> None:
    assert store.add_webhook_delivery(delivery(), keep_until())
    assert not store.add_webhook_delivery(delivery(delivery_id="e" * 32), keep_until())
    assert store.add_webhook_delivery(delivery(event_type=JOB_READY, delivery_id="f" * 32), keep_until())
    assert store.webhook_delivery("job-w1", JOB_STARTED) == delivery()
    found = store.webhook_delivery("job-w1", JOB_READY)
    assert found is not None and found.delivery_id == "f" * 32
    assert store.webhook_delivery("job-w1", JOB_EXPIRED) is None
    assert store.webhook_delivery("job-other", JOB_STARTED) is None


def test_a_try_is_claimed_by_one_and_its_retry_scheduled(store: JobStore) -> None:
    store.add_webhook_delivery(delivery(), keep_until())
    lease = NOW + timedelta(seconds=15)
    assert store.set_webhook_try("job-w1", JOB_STARTED, 0, 1, lease)
    assert not store.set_webhook_try("job-w1", JOB_STARTED, 0, 1, lease), "the same try is claimed once"
    claimed = store.webhook_delivery("job-w1", JOB_STARTED)
    assert claimed is not None and (claimed.attempts, claimed.next_at) == (1, lease)
    retry = NOW + timedelta(seconds=40)
    assert store.set_webhook_try("job-w1", JOB_STARTED, 1, 1, retry)
    again = store.webhook_delivery("job-w1", JOB_STARTED)
    assert again is not None and (again.attempts, again.next_at, again.url) == (1, retry, delivery().url)
    assert not store.set_webhook_try("job-missing", JOB_STARTED, 0, 1, lease)


def test_a_dropped_delivery_is_gone_and_dropping_again_is_harmless(store: JobStore) -> None:
    store.add_webhook_delivery(delivery(), keep_until())
    store.drop_webhook_delivery("job-w1", JOB_STARTED)
    assert store.webhook_delivery("job-w1", JOB_STARTED) is None
    store.drop_webhook_delivery("job-w1", JOB_STARTED)
    assert not store.set_webhook_try("job-w1", JOB_STARTED, 0, 1, NOW)
    assert store.add_webhook_delivery(delivery(), keep_until()), "a later copy of the event may record it again"


def test_purging_the_job_leaves_its_last_deliveries(store: JobStore) -> None:
    job = new_job(lambda: NOW, id="job-w2", webhook_url="https://hooks.example.com/x")
    store.add_job(job)
    store.add_webhook_delivery(delivery(job_id=job.id, event_type=JOB_EXPIRED), keep_until())
    store.purge_job(job.id)
    assert store.get_job(job.id) is None
    assert store.webhook_delivery(job.id, JOB_EXPIRED) is not None


def test_a_delivery_goes_by_itself_at_its_keep_until(store: JobStore) -> None:
    store.add_webhook_delivery(delivery(), datetime.now(UTC) + timedelta(seconds=1))
    store.add_webhook_delivery(delivery(event_type=JOB_READY), keep_until())
    wait_until(lambda: store.webhook_delivery("job-w1", JOB_STARTED) is None, timeout=10, what="the TTL")
    assert store.webhook_delivery("job-w1", JOB_READY) is not None
