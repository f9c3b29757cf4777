"""The mail contract: one message, both parts, the right headers; failures sorted into deferred or refused."""

from __future__ import annotations

from collections.abc import Iterator
from email.header import decode_header, make_header

import pytest

from shared.adapters.smtp.mailer import SmtpMailer
from shared.ports.mail import MailDeferred, MailRefused, OutgoingMail
from tests.contract.conftest import MailSink
from tests.mailserver import DEFER, REFUSE, ControlledSmtp
from tests.support import wait_until
from tests.support.network import free_port

SENDER = "imgjob <imgjob@localhost>"


def _mail(to: str = "person@example.com", job_id: str = "0" * 32, kind: str = "ready") -> OutgoingMail:
    return OutgoingMail(
        to=to,
        subject="Ready: your 3 images for “café”",
        text="Download: http://127.0.0.1:8000/download/abc",
        html="<p><a href='http://127.0.0.1:8000/download/abc'>Download</a></p>",
        job_id=job_id,
        kind=kind,
        message_id=f"<{job_id}.{kind}@gateway.test>",
    )


def test_a_message_arrives_with_a_text_and_an_html_part_and_its_stable_id(mail_sink: MailSink) -> None:
    mail = _mail()
    mail_sink.mailer.send(mail)
    mail_sink.mailer.send(mail)  # a repeat carries the same Message-ID
    messages = wait_until(lambda: mail_sink.read() if len(mail_sink.read()) == 2 else None, timeout=10)  # type: ignore[operator]
    for message in messages:
        assert message["To"] == "person@example.com"
        assert "imgjob@localhost" in message["From"]
        assert message.get_all("Message-ID") == [mail.message_id]
        assert str(make_header(decode_header(str(message["Subject"])))) == mail.subject
        parts = {part.get_content_type(): part for part in message.walk()}
        assert b"/download/abc" in parts["text/plain"].get_payload(decode=True)
        assert b"<a href=" in parts["text/html"].get_payload(decode=True)


def test_forget_leaves_no_copy_of_a_jobs_mail_behind(mail_sink: MailSink) -> None:
    mail_sink.mailer.send(_mail(job_id="a" * 32, kind="started"))
    mail_sink.mailer.send(_mail(job_id="a" * 32))
    mail_sink.mailer.send(_mail(job_id="b" * 32))
    wait_until(lambda: len(mail_sink.read()) == 3, timeout=10)  # type: ignore[operator]
    mail_sink.mailer.forget("a" * 32)
    assert mail_sink.mailer.forget("a" * 32) == 0  # idempotent
    if mail_sink.kind == "outbox":
        assert [message["Message-ID"] for message in mail_sink.read()] == [f"<{'b' * 32}.ready@gateway.test>"]  # type: ignore[operator]


# SMTP only: what a mail server can answer.


@pytest.fixture
def smtp() -> Iterator[ControlledSmtp]:
    server = ControlledSmtp().start()
    yield server
    server.stop()


@pytest.mark.parametrize(("answer", "error"), [(DEFER, MailDeferred), (REFUSE, MailRefused)])
def test_smtp_a_refused_or_deferred_recipient_says_which_without_the_address(
    smtp: ControlledSmtp, answer: str, error: type[Exception]
) -> None:
    smtp.answers["refused@example.com"] = answer
    mailer = SmtpMailer(smtp.url, SENDER)
    with pytest.raises(error) as raised:
        mailer.send(_mail(to="refused@example.com"))
    assert "refused@example.com" not in str(raised.value) and answer[:3] in str(raised.value)
    assert raised.value.__cause__ is None and raised.value.__suppress_context__
    mailer.send(_mail(to="fine@example.com"))
    assert [m["To"] for m in smtp.messages()] == ["fine@example.com"]


def test_smtp_a_server_that_is_not_there_defers() -> None:
    with pytest.raises(MailDeferred):
        SmtpMailer(f"smtp://127.0.0.1:{free_port()}", SENDER).send(_mail())


def test_smtp_a_server_that_stops_answering_defers_within_the_timeout(smtp: ControlledSmtp) -> None:
    smtp.hold.set()
    try:
        with pytest.raises(MailDeferred, match="in time"):
            SmtpMailer(f"{smtp.url}?timeout=1", SENDER).send(_mail())
        assert smtp.held.is_set()
    finally:
        smtp.hold.clear()
