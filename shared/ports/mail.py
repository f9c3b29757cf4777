"""The outgoing mail port."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class OutgoingMail:
    """One email about one job. `message_id` is stable per (job, kind), so that a message sent twice
    (a crash after the server took it, before we recorded it) is recognisable as one by mail systems."""

    to: str
    subject: str
    text: str
    html: str
    job_id: str
    kind: str
    message_id: str
    headers: dict[str, str] = field(default_factory=dict)


class MailDeferred(Exception):
    """The message was not taken, for a reason that may pass: a 4xx reply, a refused or dropped
    connection, a timeout. The message says what happened without the address (logs see it)."""


class MailRefused(Exception):
    """The server refused the message for good (a 5xx reply for the recipient or its content):
    sending it again would be refused again. The message holds the reply code, not the address."""


class Mailer(Protocol):
    """Sends emails with a plain-text and an HTML part."""

    def send(self, mail: OutgoingMail) -> None:
        """Hand the message over; raises MailDeferred (try again later) or MailRefused (never)."""

    def forget(self, job_id: str) -> int:
        """Delete every copy of the job's emails this adapter keeps (the outbox's files; a mail
        server keeps what it delivered, beyond our reach); how many. Idempotent."""
