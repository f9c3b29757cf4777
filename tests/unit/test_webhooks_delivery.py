"""Webhook deliveries end to end on the embedded adapters (in-process bus, SQLite), to real HTTP receivers
on loopback: signed, one delivery id per event kept across retries, retried with growing waits up to the
bound, never redirected, never to a private address, and never changing what happens to the job."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import ipaddress
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from services.janitor.handlers import purge
from services.notifier.service import build_service as build_notifier
from services.webhooks.handlers import on_job_event
from services.webhooks.sender import WebhookSender
from services.webhooks.service import build_service as build_webhooks
from shared import event_contract, events, metrics
from shared.address_guard import AddressPolicy
from shared.domain.emails import EmailState
from shared.domain.model import JobStatus
from shared.ports import Adapters, Clock, utc_now
from shared.runtime import Runner
from shared.webhooks import webhook_secret
from tests.support import add_job, embedded_adapters, free_port, wait_until
from tests.support.receiver import Received, WebhookReceiver

JOB_REQUEST = {"query": "red bicycles", "email": "hooks.person@example.com", "count": 3}


@pytest.fixture
def clock() -> Clock:
    """The real time: retries wait on the bus's real delays, and the handlers compare against the clock."""
    return utc_now


@pytest.fixture
def settings_changes() -> dict[str, Any]:
    return {"webhook_first_retry": 0.2, "webhook_max_age": 60}


def start_webhooks(adapters: Adapters, *more: Callable[[Adapters], Any]) -> None:
    """The webhooks service (and `more` services) consuming the adapters' bus; the adapters' fixture closes it."""
    Runner(adapters, [build_webhooks(adapters), *(build(adapters) for build in more)]).start()


def counted(event_type: str, outcome: str) -> float:
    labels = {"event_type": event_type, "outcome": outcome}
    return metrics.REGISTRY.get_sample_value("imgjob_webhook_deliveries_total", labels) or 0.0


def handled(event_type: str, outcome: str = "ok") -> float:
    labels = {"service": "webhooks", "event_type": event_type, "outcome": outcome}
    return metrics.REGISTRY.get_sample_value("imgjob_events_handled_total", labels) or 0.0


def verify(secret: str, request: Received) -> bool:
    """What a receiver does (README, "Verifying a delivery")."""
    timestamp = request.headers["X-Imgjob-Timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(request.headers["X-Imgjob-Signature"], f"sha256={expected}")


def gone(adapters: Adapters, job_id: str, event_type: str) -> Callable[[], bool]:
    """The delivery's record is deleted (wait on it only once it surely existed)."""
    return lambda: adapters.store.webhook_delivery(job_id, event_type) is None


def ended(adapters: Adapters, job_id: str, event_type: str, outcome: str) -> Callable[[], bool]:
    """A delivery of the job's event ended with `outcome` after now, and its record is deleted."""
    before = counted(event_type, outcome)
    return lambda: counted(event_type, outcome) > before and gone(adapters, job_id, event_type)()


def test_every_event_of_a_job_is_delivered_once_signed_with_the_secret_of_the_201(
    adapters: Adapters, client: FlaskClient
) -> None:
    with WebhookReceiver() as receiver:
        answer = client.post("/api/jobs", json=JOB_REQUEST | {"webhook_url": f"{receiver.url}/hooks/imgjob"})
        assert answer.status_code == 201
        secret = answer.get_json()["webhook_secret"]
        assert len(secret) == 64
        assert "webhook_secret" not in client.get(f"/api/jobs/{answer.get_json()['id']}").get_json()
        job = adapters.store.get_job(answer.get_json()["id"])
        assert job is not None and job.webhook_url == f"{receiver.url}/hooks/imgjob"
        start_webhooks(adapters)

        adapters.bus.publish(events.job_started(job.id))
        adapters.bus.publish(events.job_due(job))  # not a webhook event: never delivered
        wait_until(lambda: len(receiver.requests()) == 1, what="job.started delivered")
        adapters.bus.publish(events.job_failed(job.with_status(JobStatus.FAILED, failure_reason="no images found")))
        wait_until(lambda: len(receiver.requests()) == 2, what="job.failed delivered")
        purge(adapters, job)  # the janitor: job.expired goes out after the job and its URL are purged
        assert adapters.store.get_job(job.id) is None
        wait_until(lambda: len(receiver.requests()) == 3, what="job.expired delivered")
        wait_until(gone(adapters, job.id, events.JOB_EXPIRED), what="the last delivery record deleted")

    got = receiver.requests()
    assert [r.headers["X-Imgjob-Event"] for r in got] == ["job.started", "job.failed", "job.expired"]
    assert len({r.headers["X-Imgjob-Delivery"] for r in got}) == 3
    for request in got:
        assert request.path == "/hooks/imgjob"
        assert request.headers["Content-Type"] == "application/json"
        assert verify(secret, request)
        assert not verify("another secret", request)
        body = json.loads(request.body)
        assert body["type"] == request.headers["X-Imgjob-Event"] and body["job_id"] == job.id
        assert event_contract.problems(body, "webhook-body.v1.json") == []
    assert json.loads(got[1].body)["payload"] == {"reason": "no images found"}
    assert json.loads(got[2].body)["payload"] == {"status": "scheduled"}


def test_every_run_of_a_repeating_search_is_signed_with_the_secret_of_its_201(
    adapters: Adapters, client: FlaskClient
) -> None:
    with WebhookReceiver() as receiver:
        request = JOB_REQUEST | {"webhook_url": f"{receiver.url}/hooks", "repeat": "day"}
        answer = client.post("/api/jobs", json=request).get_json()
        secret, series_id = answer["webhook_secret"], answer["series_id"]
        series = adapters.store.get_series(series_id)
        first = adapters.store.get_job(answer["id"])
        assert series is not None and first is not None
        following = series.next_after(first.scheduled_at)
        assert following is not None
        second = series.run_at(following, adapters.clock())
        assert second.id != first.id and adapters.store.add_run(second)
        start_webhooks(adapters)
        for run in (first, second):
            adapters.bus.publish(events.job_started(run.id))
        wait_until(lambda: len(receiver.requests()) == 2, what="both runs' job.started delivered")
    got = receiver.requests()
    assert {json.loads(r.body)["job_id"] for r in got} == {first.id, second.id}
    assert all(verify(secret, r) for r in got)


def test_no_webhook_url_no_secret_and_no_delivery(adapters: Adapters, client: FlaskClient) -> None:
    answer = client.post("/api/jobs", json=JOB_REQUEST)
    assert answer.status_code == 201 and "webhook_secret" not in answer.get_json()
    job = adapters.store.get_job(answer.get_json()["id"])
    assert job is not None
    before = handled(events.JOB_STARTED), handled(events.JOB_WEBHOOK_DUE)
    start_webhooks(adapters)
    adapters.bus.publish(events.job_started(job.id))
    adapters.bus.publish(events.job_webhook_due(job.id, events.JOB_STARTED))
    wait_until(
        lambda: (handled(events.JOB_STARTED), handled(events.JOB_WEBHOOK_DUE)) == (before[0] + 1, before[1] + 1),
        what="both events handled",
    )
    assert adapters.store.webhook_delivery(job.id, events.JOB_STARTED) is None


class ReadsCounted:
    """The store, noting which of the reads the webhooks handler makes are made."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.reads: list[str] = []

    def get_job(self, job_id: str) -> Any:
        self.reads.append("get_job")
        return self.inner.get_job(job_id)

    def webhook_delivery(self, job_id: str, event_type: str) -> Any:
        self.reads.append("webhook_delivery")
        return self.inner.webhook_delivery(job_id, event_type)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_the_events_of_a_job_without_a_webhook_cost_one_read_each(adapters: Adapters) -> None:
    # Every job's events reach the webhooks queue: at 10,000 starts a minute each read counts.
    job = add_job(adapters, status=JobStatus.RUNNING)
    store = ReadsCounted(adapters.store)
    counted_adapters = dataclasses.replace(adapters, store=store)  # type: ignore[arg-type]
    sender = WebhookSender(AddressPolicy(allow_private=True), timeout=5)
    for event in (events.job_started(job.id), events.job_ready(job)):
        on_job_event(counted_adapters, sender, event)
    assert store.reads == ["get_job", "get_job"]
    assert adapters.store.webhook_delivery(job.id, events.JOB_STARTED) is None


def test_an_event_of_a_job_with_a_webhook_reads_the_job_once_then_records_and_sends_it(adapters: Adapters) -> None:
    with WebhookReceiver() as receiver:
        job = add_job(adapters, status=JobStatus.RUNNING, webhook_url=f"{receiver.url}/hook")
        store = ReadsCounted(adapters.store)
        sender = WebhookSender(AddressPolicy(allow_private=True), timeout=5)
        on_job_event(dataclasses.replace(adapters, store=store), sender, events.job_started(job.id))  # type: ignore[arg-type]
        wait_until(lambda: len(receiver.requests()) == 1, what="the delivery")
    # Recording the delivery tells whether an earlier copy of the event did already: no read first.
    assert store.reads == ["get_job"]
    assert receiver.requests()[0].headers["X-Imgjob-Event"] == events.JOB_STARTED


def test_a_receiver_failing_twice_gets_the_delivery_on_the_third_try_with_the_same_id(adapters: Adapters) -> None:
    before = counted("job.started", "retry"), counted("job.started", "delivered")
    with WebhookReceiver(answers=[500, 503]) as receiver:
        job = add_job(adapters, status=JobStatus.RUNNING, webhook_url=f"{receiver.url}/hook")
        start_webhooks(adapters)
        adapters.bus.publish(events.job_started(job.id))
        wait_until(lambda: len(receiver.requests()) == 3, what="three tries")
        wait_until(gone(adapters, job.id, events.JOB_STARTED), what="the delivery ended")
    got = receiver.requests()
    assert len({r.headers["X-Imgjob-Delivery"] for r in got}) == 1
    assert len({r.body for r in got}) == 1
    assert counted("job.started", "retry") - before[0] == 2
    assert counted("job.started", "delivered") - before[1] == 1
    secret = webhook_secret(adapters.settings.secret_key, job.id)
    assert all(verify(secret, request) for request in got)


def test_a_repeated_event_is_delivered_under_the_same_delivery_id(adapters: Adapters) -> None:
    with WebhookReceiver() as receiver:
        job = add_job(adapters, status=JobStatus.RUNNING, webhook_url=f"{receiver.url}/hook")
        start_webhooks(adapters)
        adapters.bus.publish(events.job_started(job.id))
        wait_until(lambda: len(receiver.requests()) == 1, what="the first copy delivered")
        wait_until(gone(adapters, job.id, events.JOB_STARTED), what="the delivery ended")
        adapters.bus.publish(events.job_started(job.id))  # at-least-once: the same event again
        wait_until(lambda: len(receiver.requests()) == 2, what="the second copy delivered")
    ids = {r.headers["X-Imgjob-Delivery"] for r in receiver.requests()}
    assert len(ids) == 1, "a receiver drops the copy by its delivery id"


def test_a_receiver_that_hangs_is_given_up_on_at_the_timeout_and_tried_again(tmp_path: Path) -> None:
    adapters = embedded_adapters(tmp_path, utc_now, webhook_timeout=1, webhook_first_retry=0.2)
    retried = counted(events.JOB_STARTED, "retry")
    try:
        with WebhookReceiver(slow=1, hold=30) as receiver:
            job = add_job(adapters, webhook_url=f"{receiver.url}/slow")
            delivered = ended(adapters, job.id, events.JOB_STARTED, "delivered")
            start_webhooks(adapters)
            adapters.bus.publish(events.job_started(job.id))
            # The first try waits at most its 1 s timeout for an answer held back 30 s, then is tried again.
            wait_until(lambda: counted(events.JOB_STARTED, "retry") == retried + 1, timeout=5, what="a timeout")
            wait_until(delivered, timeout=10, what="the second try delivered")
            got = receiver.requests()
            assert len(got) == 2 and got[0].headers["X-Imgjob-Delivery"] == got[1].headers["X-Imgjob-Delivery"]
    finally:
        adapters.close()


def test_a_receiver_that_always_fails_stops_getting_the_delivery_at_the_bound(tmp_path: Path) -> None:
    # Tries at 0, 0.3 and 0.9 s; the next would come at 2.1 s, past the 2 s bound: given up after 3.
    adapters = embedded_adapters(tmp_path, utc_now, webhook_first_retry=0.3, webhook_max_age=2)
    before = counted("job.ready", "undelivered")
    try:
        with WebhookReceiver(default=500) as receiver:
            job = add_job(adapters, status=JobStatus.RUNNING, webhook_url=f"{receiver.url}/hook")
            given_up = ended(adapters, job.id, events.JOB_READY, "undelivered")
            start_webhooks(adapters)
            adapters.bus.publish(events.job_ready(job))
            wait_until(given_up, timeout=15, what="the delivery given up")
            assert len(receiver.requests()) == 3
            assert counted("job.ready", "undelivered") - before == 1
            # Nothing is left to try: no record, so a stray retry message finds nothing to send.
            adapters.bus.publish(events.job_webhook_due(job.id, events.JOB_READY))
            wait_until(lambda: counted("job.ready", "undelivered") - before == 1, what="settled")
            assert len(receiver.requests()) == 3
    finally:
        adapters.close()


@pytest.mark.parametrize(("status", "outcome"), [(302, "redirected"), (307, "redirected"), (410, "gone")])
def test_a_redirect_or_gone_ends_the_delivery_after_one_try(adapters: Adapters, status: int, outcome: str) -> None:
    before = counted("job.started", outcome)
    with WebhookReceiver() as target, WebhookReceiver(default=status, location=f"{target.url}/elsewhere") as first:
        job = add_job(adapters, status=JobStatus.RUNNING, webhook_url=f"{first.url}/hook")
        done = ended(adapters, job.id, events.JOB_STARTED, outcome)
        start_webhooks(adapters)
        adapters.bus.publish(events.job_started(job.id))
        wait_until(done, what="the delivery ended")
        assert len(first.requests()) == 1
        assert target.requests() == [], "the redirect was not followed"
    assert counted("job.started", outcome) - before == 1


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every connect attempt in the process; anything but loopback is refused here as a backstop."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect

    def recording_connect(self: socket.socket, address: Any) -> None:
        attempts.append(address)
        host = address[0] if isinstance(address, tuple) else ""
        if not ipaddress.ip_address(host.split("%")[0]).is_loopback:
            raise OSError(f"test backstop: no connection to {host}")
        real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", recording_connect)
    return attempts


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Adapters]:
    """Adapters with the address guard on, as in production."""
    adapters = embedded_adapters(tmp_path, utc_now, allow_private_networks=False)
    yield adapters
    adapters.close()


@pytest.mark.parametrize("address", ["10.0.0.7", "169.254.169.254", "fd00::1", "192.168.1.1,93.184.216.34"])
def test_a_url_resolving_to_a_private_address_is_refused_before_connecting(
    guarded: Adapters, address: str, connects: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    real_getaddrinfo = socket.getaddrinfo

    def resolve(host: str, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if host != "hooks.example.test":
            return real_getaddrinfo(host, port, *args, **kwargs)
        return [
            (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (a, int(port), 0, 0))
            if ":" in a
            else (socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, int(port)))
            for a in address.split(",")
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    before = counted("job.started", "refused")
    job = add_job(guarded, status=JobStatus.RUNNING, webhook_url="https://hooks.example.test/hook")
    done = ended(guarded, job.id, events.JOB_STARTED, "refused")
    start_webhooks(guarded)
    guarded.bus.publish(events.job_started(job.id))
    wait_until(done, what="the delivery ended")
    assert connects == []
    assert counted("job.started", "refused") - before == 1


def test_loopback_is_refused_too_unless_private_networks_are_allowed(guarded: Adapters, connects: list[Any]) -> None:
    with WebhookReceiver() as receiver:
        job = add_job(guarded, status=JobStatus.RUNNING, webhook_url=f"{receiver.url}/hook")
        done = ended(guarded, job.id, events.JOB_STARTED, "refused")
        start_webhooks(guarded)
        guarded.bus.publish(events.job_started(job.id))
        wait_until(done, what="the delivery ended")
        assert receiver.requests() == []
    assert connects == []


def test_a_dead_receiver_changes_nothing_for_the_job(adapters: Adapters) -> None:
    dead = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens: every try is a refused connection
    job = add_job(adapters, status=JobStatus.FAILED, webhook_url=dead)
    errors_before = handled(events.JOB_FAILED, "error") + handled(events.JOB_WEBHOOK_DUE, "error")
    start_webhooks(adapters, build_notifier)
    adapters.bus.publish(events.job_failed(job))
    wait_until(
        lambda: (d := adapters.store.webhook_delivery(job.id, events.JOB_FAILED)) is not None and d.attempts >= 3,
        what="three failed tries",
    )
    wait_until(lambda: adapters.store.emails(job.id).get("failed"), what="the failed email tried")
    assert adapters.store.emails(job.id)["failed"].state is EmailState.SENT
    stored = adapters.store.get_job(job.id)
    assert stored is not None and stored.status is JobStatus.FAILED and stored.failure_reason == job.failure_reason
    errors_after = handled(events.JOB_FAILED, "error") + handled(events.JOB_WEBHOOK_DUE, "error")
    assert errors_after == errors_before, "the handler never raised, so nothing was redelivered or dead-lettered"
    assert not list(Path(adapters.settings.dead_letter_dir).glob("*"))
