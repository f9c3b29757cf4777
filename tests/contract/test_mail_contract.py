"""The mail contract: one message, both parts, the right headers."""

from __future__ import annotations

from shared.ports.mail import OutgoingMail
from tests.contract.conftest import MailSink
from tests.support import wait_until


def test_a_message_arrives_with_a_text_and_an_html_part(mail_sink: MailSink) -> None:
    mail = OutgoingMail(
        to="person@example.com",
        subject="Ready: your 3 images for “café”",
        text="Download: http://127.0.0.1:8000/download/abc",
        html="<p><a href='http://127.0.0.1:8000/download/abc'>Download</a></p>",
    )
    mail_sink.mailer.send(mail)
    [message] = wait_until(mail_sink.read, timeout=10, what="the message")  # type: ignore[arg-type]
    assert message["To"] == "person@example.com"
    assert "imgjob@localhost" in message["From"]
    subject = str(message["Subject"])
    if "=?" in subject:  # an SMTP capture keeps the RFC 2047 encoded form
        from email.header import decode_header, make_header

        subject = str(make_header(decode_header(subject)))
    assert subject == mail.subject
    parts = {part.get_content_type(): part for part in message.walk()}
    assert "text/plain" in parts and "text/html" in parts
    assert b"/download/abc" in parts["text/plain"].get_payload(decode=True)
    assert b"<a href=" in parts["text/html"].get_payload(decode=True)
