"""The embedded mailer: each message an `.eml` file in an outbox directory, like Django's file backend."""

from __future__ import annotations

import os
import time
from email import policy
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path

from shared.ports.mail import OutgoingMail


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    # Lines up to RFC 5322's 998: a long header such as List-Unsubscribe stays a plain URL, not
    # encoded-words that mail clients would not follow.
    message = EmailMessage(policy=policy.default.clone(max_line_length=998))
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = mail.message_id
    for name, value in mail.headers.items():
        message[name] = value
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    return message


class OutboxMailer:
    """Writes each message as `<time>-<job id>-<kind>.eml`, whole or not at all (names sort oldest
    first); `forget` deletes a job's files."""

    def __init__(self, outbox: Path, sender: str) -> None:
        self._outbox = outbox
        self._sender = sender

    def send(self, mail: OutgoingMail) -> None:
        data = bytes(build_message(mail, self._sender))
        self._outbox.mkdir(parents=True, exist_ok=True)
        # Named after the job so that the purge finds them.
        name = f"{time.time_ns()}-{mail.job_id}-{mail.kind}.eml"
        temp = self._outbox / f".{name}.part"
        temp.write_bytes(data)
        os.replace(temp, self._outbox / name)

    def forget(self, job_id: str) -> int:
        if not self._outbox.is_dir():
            return 0
        doomed = [path for path in self._outbox.iterdir() if f"-{job_id}-" in path.name]
        for path in doomed:
            path.unlink(missing_ok=True)
        return len(doomed)
