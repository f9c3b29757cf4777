"""Webhook deliveries over every bus and store adapter (in-process and RabbitMQ; SQLite and Cassandra):
retried on the delay ladder under one delivery id, and the URL gone from the store once the job is
purged and its last delivery (job.expired) has arrived."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest

from services.bootstrap import bootstrap
from services.janitor.handlers import purge
from services.webhooks.service import build_service as build_webhooks
from shared import events
from shared.domain.model import JobStatus
from shared.ports import Adapters, JobStore, MessageBus
from shared.runtime import Runner, subscriptions_of
from tests.contract.fixtures_store import _test_keyspace
from tests.support import add_job, embedded_settings, wait_until
from tests.support.receiver import WebhookReceiver


def run_webhooks(tmp_path: Path, bus: MessageBus, store: JobStore) -> Adapters:
    settings = embedded_settings(tmp_path, webhook_first_retry=1.0, webhook_max_age=120)
    adapters = bootstrap(settings, bus=bus, store=store)
    adapters.blobs.migrate()
    services = [build_webhooks(adapters)]
    bus.migrate(subscriptions_of(services))
    Runner(adapters, services).start()
    return adapters  # the bus and store fixtures close them


def url_left_in_store(store: JobStore, request: pytest.FixtureRequest, tmp_path: Path, needle: str) -> list[str]:
    """Where the store still holds `needle`: the SQLite file and its write-ahead log, byte by byte; or
    every row of every table of the test's Cassandra keyspace."""
    if request.node.callspec.params["store"] == "sqlite":
        files = [p for p in tmp_path.glob("store.sqlite3*") if p.is_file()]
        assert files, "the sqlite store's file is where the fixture puts it"
        return [str(p) for p in files if needle.encode() in p.read_bytes()]
    url, session = _test_keyspace(request.config)
    keyspace = url.rsplit("/", 1)[1].split("?")[0]
    found = []
    tables = session.execute("SELECT table_name FROM system_schema.tables WHERE keyspace_name = %s", (keyspace,))
    for table in [row["table_name"] for row in tables]:
        # Whole-table reads are fine here: the test's own small keyspace, not a service query.
        for record in session.execute(f'SELECT * FROM "{keyspace}"."{table}"'):
            if needle in repr(record):
                found.append(f"{table}: {record!r}")
    return found


def test_the_url_lives_until_the_last_delivery_and_no_longer(
    bus: MessageBus, store: JobStore, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    token = f"personal-{uuid.uuid4().hex}"
    # Each event's first try fails: every delivery is retried once, on the ladder, under its own id.
    with WebhookReceiver(answers=[503]) as receiver:
        adapters = run_webhooks(tmp_path, bus, store)
        job = add_job(adapters, status=JobStatus.FAILED, webhook_url=f"{receiver.url}/hooks/{token}")
        assert url_left_in_store(store, request, tmp_path, token), "the needle is found while the job holds it"
        adapters.bus.publish(events.job_failed(job))
        wait_until(lambda: len(receiver.requests()) == 2, timeout=30, what="job.failed, tried twice")
        receiver.answers.append(500)
        purge(adapters, job)
        assert adapters.store.get_job(job.id) is None
        wait_until(lambda: len(receiver.requests()) == 4, timeout=30, what="job.expired, tried twice")
        wait_until(
            lambda: adapters.store.webhook_delivery(job.id, events.JOB_EXPIRED) is None,
            what="the last delivery's record deleted",
        )
    got = receiver.requests()
    assert [r.headers["X-Imgjob-Event"] for r in got] == ["job.failed"] * 2 + ["job.expired"] * 2
    assert got[0].headers["X-Imgjob-Delivery"] == got[1].headers["X-Imgjob-Delivery"]
    assert got[2].headers["X-Imgjob-Delivery"] == got[3].headers["X-Imgjob-Delivery"]
    assert got[0].headers["X-Imgjob-Delivery"] != got[2].headers["X-Imgjob-Delivery"]
    assert json.loads(got[3].body)["payload"] == {"status": "failed"}
    assert all(r.path == f"/hooks/{token}" for r in got)
    assert url_left_in_store(store, request, tmp_path, token) == []
