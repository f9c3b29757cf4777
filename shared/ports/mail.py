"""The outgoing mail port."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    text: str
    html: str


class Mailer(Protocol):
    """Sends one email with a plain-text and an HTML part; raises if it could not be handed over."""

    def send(self, mail: OutgoingMail) -> None: ...
