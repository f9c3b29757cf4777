"""Reading what the outbox mailer wrote."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path


def read_outbox(outbox: Path) -> list[EmailMessage]:
    """Every message the outbox mailer wrote, oldest first."""
    if not outbox.exists():
        return []
    return [message_from_bytes(path.read_bytes(), policy=policy.default) for path in sorted(outbox.glob("*.eml"))]


def text_part(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("plain",))
    assert body is not None, "message has no plain-text part"
    return str(body.get_content())


def html_part(message: EmailMessage) -> str:
    body = message.get_body(preferencelist=("html",))
    assert body is not None, "message has no HTML part"
    return str(body.get_content())
