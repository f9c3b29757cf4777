"""Mail adapters: `.eml` files in an outbox directory (embedded) and SMTP through Flask-Mail (real)."""

from __future__ import annotations

import os
import time
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask
from flask_mail import Mail, Message

from shared.ports.mail import OutgoingMail


class OutboxMailer:
    """Writes each message as an .eml file, like Django's file backend; written whole or not at all."""

    def __init__(self, outbox: Path, sender: str) -> None:
        self._outbox = outbox
        self._sender = sender

    def send(self, mail: OutgoingMail) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain="imgjob.local")
        message.set_content(mail.text)
        message.add_alternative(mail.html, subtype="html")
        self._outbox.mkdir(parents=True, exist_ok=True)
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:8]}.eml"
        temp = self._outbox / f".{name}.part"
        temp.write_bytes(bytes(message))
        os.replace(temp, self._outbox / name)


class SmtpMailer:
    """`smtp://[user:password@]host[:port][?starttls=true]` or `smtps://...` for implicit TLS."""

    def __init__(self, url: str, sender: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"expected smtp:// or smtps://, got {url!r}")
        options = parse_qs(parts.query)
        # Flask-Mail is configured through a Flask app; this one exists only to hold that configuration.
        self._app = Flask("imgjob.mail")
        self._app.config.update(
            MAIL_SERVER=parts.hostname or "127.0.0.1",
            MAIL_PORT=parts.port or (465 if parts.scheme == "smtps" else 25),
            MAIL_USE_SSL=parts.scheme == "smtps",
            MAIL_USE_TLS=options.get("starttls", ["false"])[0].lower() in ("1", "true", "yes"),
            MAIL_USERNAME=unquote(parts.username) if parts.username else None,
            MAIL_PASSWORD=unquote(parts.password) if parts.password else None,
            MAIL_DEFAULT_SENDER=sender,
        )
        self._mail = Mail(self._app)

    def send(self, mail: OutgoingMail) -> None:
        with self._app.app_context():
            self._mail.send(Message(subject=mail.subject, recipients=[mail.to], body=mail.text, html=mail.html))
