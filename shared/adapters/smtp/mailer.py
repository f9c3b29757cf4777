"""The real mailer: SMTP through Flask-Mail, with a timeout and replies sorted into deferred or refused."""

from __future__ import annotations

import smtplib
from urllib.parse import parse_qs, unquote, urlsplit

from flask import Flask
from flask_mail import Connection, Mail, Message

from shared.ports.mail import MailDeferred, MailRefused, OutgoingMail

# Longer than any answer a healthy server takes, shorter than the notifier's lease on an email.
DEFAULT_TIMEOUT = 30.0


class _TimedConnection(Connection):
    """Flask-Mail's connection, with a socket timeout: a server that stops answering mid-conversation
    must end in a retry, not hold the notifier's thread for ever."""

    timeout = DEFAULT_TIMEOUT

    def configure_host(self) -> smtplib.SMTP | smtplib.SMTP_SSL:
        host: smtplib.SMTP | smtplib.SMTP_SSL
        if self.mail.use_ssl:
            host = smtplib.SMTP_SSL(self.mail.server, self.mail.port, timeout=self.timeout)
        else:
            host = smtplib.SMTP(self.mail.server, self.mail.port, timeout=self.timeout)
        if self.mail.use_tls:
            host.starttls()
        if self.mail.username and self.mail.password:
            host.login(self.mail.username, self.mail.password)
        return host


def classify(exc: Exception) -> Exception:
    """MailRefused for a permanent refusal of this recipient or message, MailDeferred for the rest.

    Only reply codes go into the message: a server's reply text often repeats the address."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        if codes and all(code >= 500 for code in codes):
            return MailRefused(f"the mail server refused the recipient (SMTP {'/'.join(map(str, codes))})")
        return MailDeferred(f"the mail server deferred the recipient (SMTP {'/'.join(map(str, codes))})")
    if isinstance(exc, smtplib.SMTPDataError) and exc.smtp_code >= 500:
        return MailRefused(f"the mail server refused the message (SMTP {exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPResponseException):
        # A 5xx for our sender or our login is ours to fix, not the person's: keep trying meanwhile.
        return MailDeferred(f"the mail server answered SMTP {exc.smtp_code}")
    # smtplib reports a reply that never came as a disconnection caused by the timeout.
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return MailDeferred("the mail server did not answer in time")
    return MailDeferred(f"the mail server could not be reached ({type(exc).__name__})")


class SmtpMailer:
    """`smtp://[user:password@]host[:port][?starttls=true&timeout=30]` or `smtps://...` for implicit TLS."""

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
        self._timeout = float(options.get("timeout", [str(DEFAULT_TIMEOUT)])[0])
        self._mail = Mail(self._app)

    def message(self, mail: OutgoingMail) -> Message:
        """The Flask-Mail message for `mail` (what `send` hands to the server)."""
        message = Message(
            subject=mail.subject, recipients=[mail.to], body=mail.text, html=mail.html, extra_headers=mail.headers
        )
        message.msgId = mail.message_id  # replaces the random one Flask-Mail would give each send
        return message

    def send(self, mail: OutgoingMail) -> None:
        with self._app.app_context():
            message = self.message(mail)
            connection = _TimedConnection(self._app.extensions["mail"])
            connection.timeout = self._timeout
            try:
                connection.host = host = connection.configure_host()
                try:
                    connection.send(message)
                finally:
                    # Not QUIT after a failure: the server may be the reason, and its answer must not
                    # hide the first error.
                    host.close()
            except (smtplib.SMTPException, OSError) as exc:
                raise classify(exc) from None

    def forget(self, job_id: str) -> int:
        return 0  # what the server delivered is the recipient's; nothing is kept here
