from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.notifier import emails
from services.notifier.handlers import send_once
from shared.bootstrap import Adapters
from shared.domain.model import JobStatus
from shared.events import JOB_FAILED, JOB_READY, JOB_STARTED, Event
from shared.ports.mail import OutgoingMail
from tests.support import SettableClock, embedded_adapters, html_part, new_job, read_outbox, text_part


@pytest.fixture
def adapters(tmp_path: Path) -> Adapters:
    adapters = embedded_adapters(tmp_path, clock=SettableClock(), public_url="https://imgjob.example")
    yield adapters
    adapters.close()


def outbox(adapters: Adapters) -> Path:
    return Path(adapters.settings.mail_outbox)


def test_started_email_goes_out_once_however_often_the_event_arrives(adapters: Adapters) -> None:
    job = new_job(adapters.clock, status=JobStatus.RUNNING, query="tabby <cats> & kittens")
    adapters.store.add_job(job)
    for _ in range(3):
        send_once(adapters, emails.STARTED, Event(JOB_STARTED, job.id))
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
        download_token="tok123",
        expires_at=expires,
    )
    adapters.store.add_job(job)
    send_once(adapters, emails.READY, Event(JOB_READY, job.id))
    [message] = read_outbox(outbox(adapters))
    text = text_part(message)
    assert message["Subject"].startswith("Ready")
    assert "https://imgjob.example/download/tok123" in text
    assert "Wed 02 Jan 2030, 07:00 (America/New_York)" in text
    assert 'href="https://imgjob.example/download/tok123"' in html_part(message)


def test_failed_email_holds_the_reason_and_a_link_to_schedule_again(adapters: Adapters) -> None:
    job = new_job(adapters.clock, status=JobStatus.FAILED, failure_reason="bing: blocked by a CAPTCHA page")
    adapters.store.add_job(job)
    send_once(adapters, emails.FAILED, Event(JOB_FAILED, job.id))
    send_once(adapters, emails.FAILED, Event(JOB_FAILED, job.id))
    [message] = read_outbox(outbox(adapters))
    assert message["Subject"].startswith("Failed")
    assert "blocked by a CAPTCHA page" in text_part(message)
    assert f"https://imgjob.example/jobs/{job.id}/again" in text_part(message)


def test_a_failed_send_is_retried_by_the_next_delivery(adapters: Adapters) -> None:
    job = new_job(adapters.clock, status=JobStatus.RUNNING)
    adapters.store.add_job(job)
    working = adapters.mailer

    class RefusingMailer:
        def send(self, mail: OutgoingMail) -> None:
            raise ConnectionRefusedError("smtp is down")

    adapters.mailer = RefusingMailer()
    with pytest.raises(ConnectionRefusedError):
        send_once(adapters, emails.STARTED, Event(JOB_STARTED, job.id))
    adapters.mailer = working
    send_once(adapters, emails.STARTED, Event(JOB_STARTED, job.id))
    assert len(read_outbox(outbox(adapters))) == 1


def test_no_email_for_a_purged_job(adapters: Adapters) -> None:
    job = new_job(adapters.clock, expires_at=adapters.clock() - timedelta(seconds=1))
    adapters.store.add_job(job)
    adapters.store.purge_job(job.id)
    send_once(adapters, emails.STARTED, Event(JOB_STARTED, job.id))
    assert read_outbox(outbox(adapters)) == []
