from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.notifier.handlers import on_job_email_due, on_job_failed, on_job_ready, on_job_started
from shared.domain.emails import EmailState
from shared.domain.model import JobStatus
from shared.events import JOB_EMAIL_DUE, JOB_FAILED, JOB_READY, JOB_STARTED, Event
from shared.ports import Adapters
from shared.ports.mail import MailDeferred, MailRefused, OutgoingMail
from shared.tokens import download_token
from tests.support import SettableClock, html_part, new_job, read_outbox, text_part


@pytest.fixture
def clock() -> SettableClock:
    # Its own start (2030-01-01 12:00): the ready email's expiry below lies a day after it.
    return SettableClock()


@pytest.fixture
def settings_changes() -> dict[str, object]:
    return {"public_url": "https://imgjob.example"}


def outbox(adapters: Adapters) -> Path:
    return Path(adapters.settings.mail_outbox)


def test_started_email_goes_out_once_however_often_the_event_arrives(adapters: Adapters) -> None:
    job = new_job(adapters.clock, status=JobStatus.RUNNING, query="tabby <cats> & kittens")
    adapters.store.add_job(job)
    for _ in range(3):
        on_job_started(adapters, Event(JOB_STARTED, job.id))
    messages = read_outbox(outbox(adapters))
    assert len(messages) == 1
    assert messages[0]["To"] == job.email
    assert messages[0]["Subject"].startswith("Started")
    assert f"https://imgjob.example/jobs/{job.id}" in text_part(messages[0])
    assert "tabby &lt;cats&gt; &amp; kittens" in html_part(messages[0])


def test_ready_email_holds_the_link_and_the_expiry_in_the_persons_time_zone(adapters: Adapters) -> None:
    expires = datetime(2030, 1, 2, 12, 0, tzinfo=UTC)
    job = new_job(
        adapters.clock,
        status=JobStatus.READY,
        timezone="America/New_York",
        token_hash="set once ready",
        expires_at=expires,
    )
    adapters.store.add_job(job)
    on_job_ready(adapters, Event(JOB_READY, job.id))
    [message] = read_outbox(outbox(adapters))
    text = text_part(message)
    assert message["Subject"].startswith("Ready")
    link = f"https://imgjob.example/download/{download_token(adapters.settings.secret_key, job.id)}"
    assert link in text
    assert "Wed 02 Jan 2030, 07:00 (America/New_York)" in text
    assert f'href="{link}"' in html_part(message)


def test_failed_email_holds_the_reason_and_a_link_to_schedule_again(adapters: Adapters) -> None:
    job = new_job(adapters.clock, status=JobStatus.FAILED, failure_reason="bing: blocked by a CAPTCHA page")
    adapters.store.add_job(job)
    on_job_failed(adapters, Event(JOB_FAILED, job.id))
    on_job_failed(adapters, Event(JOB_FAILED, job.id))
    [message] = read_outbox(outbox(adapters))
    assert message["Subject"].startswith("Failed")
    assert "blocked by a CAPTCHA page" in text_part(message)
    assert f"https://imgjob.example/jobs/{job.id}/again" in text_part(message)


class Published:
    """Every event the notifier publishes, with its delay (the bus delivers them in real time)."""

    def __init__(self, adapters: Adapters) -> None:
        self.calls: list[tuple[Event, float]] = []
        publish = adapters.bus.publish

        def record(event: Event, delay: float = 0.0) -> None:
            self.calls.append((event, delay))
            publish(event, delay)

        adapters.bus.publish = record  # type: ignore[method-assign]

    def email_due(self) -> list[tuple[str, float]]:
        return [(str(event.payload["kind"]), delay) for event, delay in self.calls if event.type == JOB_EMAIL_DUE]


class FailingMailer:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.tries = 0

    def send(self, mail: OutgoingMail) -> None:
        self.tries += 1
        raise self.error

    def forget(self, job_id: str) -> int:
        return 0


@pytest.mark.parametrize("error", [MailDeferred("SMTP 451"), ConnectionRefusedError("down")])
def test_a_deferred_email_is_tried_again_on_the_ladder_with_growing_waits(
    adapters: Adapters, clock: SettableClock, error: Exception
) -> None:
    job = new_job(adapters.clock, status=JobStatus.RUNNING)
    adapters.store.add_job(job)
    published = Published(adapters)
    working, failing = adapters.mailer, FailingMailer(error)
    adapters.mailer = failing
    on_job_started(adapters, Event(JOB_STARTED, job.id))  # no exception: the bus must not redeliver
    for _ in range(3):
        clock.advance(3600)
        on_job_email_due(adapters, Event(JOB_EMAIL_DUE, job.id, {"kind": "started"}))
    assert failing.tries == 4
    assert published.email_due() == [("started", 10.0), ("started", 30.0), ("started", 60.0), ("started", 300.0)]
    record = adapters.store.emails(job.id)["started"]
    assert (record.state, record.attempts) == (EmailState.RETRYING, 4)
    adapters.mailer = working
    on_job_email_due(adapters, Event(JOB_EMAIL_DUE, job.id, {"kind": "started"}))
    on_job_started(adapters, Event(JOB_STARTED, job.id))  # a late redelivery sends nothing more
    assert len(read_outbox(outbox(adapters))) == 1
    assert adapters.store.emails(job.id)["started"].state is EmailState.SENT


def test_a_refused_email_is_recorded_and_never_tried_again(adapters: Adapters) -> None:
    job = new_job(adapters.clock, status=JobStatus.FAILED, failure_reason="nothing found")
    adapters.store.add_job(job)
    published = Published(adapters)
    adapters.mailer = refusing = FailingMailer(MailRefused("the mail server refused the recipient (SMTP 550)"))
    on_job_failed(adapters, Event(JOB_FAILED, job.id))
    on_job_failed(adapters, Event(JOB_FAILED, job.id))
    assert refusing.tries == 1 and published.email_due() == []
    record = adapters.store.emails(job.id)["failed"]
    assert (record.state, record.detail) == (EmailState.REFUSED, "the mail server refused the recipient (SMTP 550)")


def test_a_deferred_email_is_given_up_when_its_link_would_have_expired(
    adapters: Adapters, clock: SettableClock
) -> None:
    job = new_job(adapters.clock, status=JobStatus.READY, token_hash="h", expires_at=clock.now + timedelta(seconds=35))
    adapters.store.add_job(job)
    published = Published(adapters)
    adapters.mailer = FailingMailer(MailDeferred("SMTP 451"))
    on_job_ready(adapters, Event(JOB_READY, job.id))  # next try in 10 s: before the expiry
    clock.advance(10)
    on_job_email_due(adapters, Event(JOB_EMAIL_DUE, job.id, {"kind": "ready"}))  # next in 30 s: after it
    assert published.email_due() == [("ready", 10.0)]
    record = adapters.store.emails(job.id)["ready"]
    assert (record.state, record.attempts) == (EmailState.UNDELIVERED, 2)


def test_an_email_claimed_by_a_notifier_that_died_is_sent_after_its_lease(
    adapters: Adapters, clock: SettableClock
) -> None:
    job = new_job(adapters.clock, status=JobStatus.RUNNING)
    adapters.store.add_job(job)
    published = Published(adapters)
    lease = timedelta(seconds=adapters.settings.mail_lease)
    # The dead notifier: it claimed, then nothing (killed before or during the send).
    assert adapters.store.claim_email(job.id, "started", clock.now, clock.now + lease)
    on_job_started(adapters, Event(JOB_STARTED, job.id))  # the redelivery finds the lease running
    assert read_outbox(outbox(adapters)) == []
    assert published.email_due() == [("started", lease.total_seconds() + 1)]
    clock.advance(lease.total_seconds() + 1)
    on_job_email_due(adapters, Event(JOB_EMAIL_DUE, job.id, {"kind": "started"}))
    [message] = read_outbox(outbox(adapters))
    assert message["Message-ID"] == f"<{job.id}.started@imgjob.example>"
    assert adapters.store.emails(job.id)["started"].state is EmailState.SENT


def test_no_email_for_a_purged_job(adapters: Adapters) -> None:
    job = new_job(adapters.clock, expires_at=adapters.clock() - timedelta(seconds=1))
    adapters.store.add_job(job)
    adapters.store.purge_job(job.id)
    on_job_started(adapters, Event(JOB_STARTED, job.id))
    assert read_outbox(outbox(adapters)) == []
