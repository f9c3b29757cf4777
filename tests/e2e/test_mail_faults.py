"""Mail failures on the real stack (every service its own process): a mail server that defers, one
that refuses a recipient, a notifier killed mid-send, and poison events. Email never changes a job's
outcome, nobody is emailed twice, and nothing is lost."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pika
import pytest
import requests

from shared.domain.emails import EmailState
from tests.e2e.system import RunningSystem, running_system
from tests.fakeweb import FakeWeb
from tests.mailserver import ACCEPT, DEFER, REFUSE, ControlledSmtp
from tests.support import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

LEASE = 8  # seconds a notifier holds an email (the least the setting allows is 5)


@pytest.fixture
def smtp() -> Iterator[ControlledSmtp]:
    server = ControlledSmtp().start()
    yield server
    server.stop()


def submit(system: RunningSystem, tag: str, count: int = 3) -> tuple[str, str]:
    """A job due now for a new address; (job id, address)."""
    email = f"{tag}-{uuid.uuid4().hex[:8]}@example.com"
    answer = requests.post(
        f"{system.url}/api/jobs", json={"query": f"{tag} kittens", "email": email, "count": count}, timeout=10
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["id"], email


def job(system: RunningSystem, job_id: str) -> dict:  # type: ignore[type-arg]
    return requests.get(f"{system.url}/api/jobs/{job_id}", timeout=10).json()  # type: ignore[no-any-return]


def email_states(system: RunningSystem, job_id: str) -> dict[str, str]:
    return {e["kind"]: e["state"] for e in job(system, job_id)["emails"]}


def subjects(smtp: ControlledSmtp, address: str) -> list[str]:
    return sorted(str(message["Subject"]).split(":")[0] for message in smtp.to(address))


def settled(system: RunningSystem, job_id: str) -> bool:
    states = email_states(system, job_id)
    return (
        job(system, job_id)["status"] == "ready"
        and set(states) == {"started", "ready"}
        and all(state in (EmailState.SENT, EmailState.REFUSED) for state in states.values())
    )


def test_a_mail_server_deferring_for_a_minute_delays_every_email_and_loses_none(
    web: FakeWeb, smtp: ControlledSmtp, tmp_path: Path
) -> None:
    smtp.answer = DEFER
    with running_system("real", tmp_path, IMGJOB_BING_URL=web.bing_url(total=20), IMGJOB_SMTP_URL=smtp.url) as system:
        jobs = [submit(system, f"deferred{n}") for n in range(4)]
        began = time.monotonic()
        # The jobs are not held up by the mail: they end ready while every email waits.
        ready = lambda: all(job(system, job_id)["status"] == "ready" for job_id, _ in jobs)  # noqa: E731
        wait_until(ready, timeout=120, what="the jobs to be ready")
        assert smtp.messages() == []
        states = {state for job_id, _ in jobs for state in email_states(system, job_id).values()}
        assert "retrying" in states and states <= {"retrying", "pending"}  # pending: a try under way
        wait_until(lambda: time.monotonic() - began >= 60, timeout=70, what="a minute of 451")
        smtp.answer = ACCEPT
        wait_until(lambda: all(settled(system, j) for j, _ in jobs), timeout=240, what="every email to be sent")
        for _, address in jobs:
            assert subjects(smtp, address) == ["Ready", "Started"]
            assert len(smtp.attempts) > 2 * len(jobs)  # it was tried, deferred, and tried again


def test_a_refused_recipient_is_recorded_and_the_others_are_emailed(
    web: FakeWeb, smtp: ControlledSmtp, tmp_path: Path
) -> None:
    with running_system("real", tmp_path, IMGJOB_BING_URL=web.bing_url(total=20), IMGJOB_SMTP_URL=smtp.url) as system:
        refused_id, refused = submit(system, "refused")
        smtp.answers[refused] = REFUSE
        others = [submit(system, f"fine{n}") for n in range(3)]
        everyone = [refused_id, *(job_id for job_id, _ in others)]
        wait_until(lambda: all(settled(system, j) for j in everyone), timeout=120, what="the jobs and their emails")
        assert email_states(system, refused_id) == {"started": "refused", "ready": "refused"}
        assert "SMTP 550" in str(job(system, refused_id)["emails"])
        assert smtp.attempts.count(refused) == 2  # once per email: a refusal is not retried
        for _, address in others:
            assert subjects(smtp, address) == ["Ready", "Started"]
        page = requests.get(f"{system.url}/jobs/{refused_id}", timeout=10).text
        assert "refused by the mail server" in page and refused not in page


def test_a_notifier_killed_mid_send_still_sends_after_its_lease(
    web: FakeWeb, smtp: ControlledSmtp, tmp_path: Path
) -> None:
    env = {"IMGJOB_SMTP_URL": f"{smtp.url}?timeout=5", "IMGJOB_MAIL_LEASE": str(LEASE)}
    with running_system("real", tmp_path, IMGJOB_BING_URL=web.bing_url(total=20), **env) as system:
        smtp.hold.set()
        job_id, address = submit(system, "killed")
        wait_until(smtp.held.is_set, timeout=60, what="the notifier to be mid-send")
        assert email_states(system, job_id) == {"started": "pending"}
        system.workers["notifier"].kill()  # SIGKILL: no cleanup, no ack
        system.workers["notifier"].wait()
        smtp.hold.clear()
        system.start_worker("notifier")
        wait_until(lambda: settled(system, job_id), timeout=120, what="the emails after the lease")
        assert subjects(smtp, address) == ["Ready", "Started"]
        assert job(system, job_id)["emails"][0]["attempts"] == 2


def _publish_raw(url: str, routing_key: str, body: bytes, message_id: str) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        properties = pika.BasicProperties(message_id=message_id, delivery_mode=2)
        channel.basic_publish("imgjob.events", routing_key, body, properties, mandatory=True)
    finally:
        connection.close()


def _cli(system: RunningSystem, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "services.cli", *args]
    return subprocess.run(command, cwd=system.workdir, env=system.env, capture_output=True, text=True, timeout=60)


def test_poison_events_are_dead_lettered_without_failing_unrelated_jobs(
    web: FakeWeb, smtp: ControlledSmtp, tmp_path: Path
) -> None:
    with running_system("real", tmp_path, IMGJOB_BING_URL=web.bing_url(total=20), IMGJOB_SMTP_URL=smtp.url) as system:
        bus_url = system.env["IMGJOB_BUS_URL"]
        malformed, unknown, raising = (uuid.uuid4().hex for _ in range(3))
        event = {"version": 1, "occurred_at": "2026-01-01T00:00:00+00:00", "payload": {}}
        _publish_raw(bus_url, "job.links_collected", b"{not json", malformed)
        unknown_body = {**event, "type": "job.bogus", "event_id": unknown, "job_id": "x"}
        _publish_raw(bus_url, "job.links_collected", json.dumps(unknown_body).encode(), unknown)
        # A key Cassandra refuses (over 64 KiB): every read of this job raises, on every delivery.
        raising_body = {**event, "type": "job.links_collected", "event_id": raising, "job_id": "k" * 70_000}
        _publish_raw(bus_url, "job.links_collected", json.dumps(raising_body).encode(), raising)
        jobs = [submit(system, f"bystander{n}") for n in range(3)]

        def listed() -> dict[str, str]:
            result = _cli(system, "deadletters", "list")
            assert result.returncode == 0, result.stderr
            rows = [line.split("\t") for line in result.stdout.splitlines()]
            return {row[0]: row[1] for row in rows if row[0] in (malformed, unknown, raising)}

        found = wait_until(lambda: len(listed()) == 3 and listed(), timeout=90, what="three dead letters")
        assert found == {malformed: "imgjob.packager", unknown: "imgjob.packager", raising: "imgjob.packager"}
        wait_until(lambda: all(settled(system, j) for j, _ in jobs), timeout=120, what="the unrelated jobs")
        for _, address in jobs:
            assert subjects(smtp, address) == ["Ready", "Started"]
        # Replayed, the one that always raises is dead-lettered again, and still listed once.
        replay = _cli(system, "deadletters", "replay", raising)
        assert replay.returncode == 0, replay.stderr
        wait_until(lambda: raising in listed(), timeout=90, what="the replayed poison back among the dead")
        assert all(process.poll() is None for process in system.workers.values())
