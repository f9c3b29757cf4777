"""A real SMTP server on loopback whose answers a test controls: accept, defer (451), refuse (550) or
hold a message before answering, per recipient. Messages it accepts are kept in order."""

from __future__ import annotations

import asyncio
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.support.network import free_port

ACCEPT = "250 OK"
DEFER = "451 4.3.0 Try again later"
REFUSE = "550 5.1.1 Mailbox unavailable"


class ControlledSmtp:
    """`answer` is what RCPT gets by default, `answers` per address; while `hold` is set, DATA is not
    answered (a send in progress, for killing its sender mid-way)."""

    def __init__(self) -> None:
        self.answer = ACCEPT
        self.answers: dict[str, str] = {}
        self.hold = threading.Event()
        self.held = threading.Event()  # set once a DATA is being held
        self.attempts: list[str] = []  # every RCPT address, whatever the answer
        self._messages: list[bytes] = []
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=free_port())

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self._controller.port}"

    def start(self) -> ControlledSmtp:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def messages(self) -> list[EmailMessage]:
        with self._lock:
            raw = list(self._messages)
        return [message_from_bytes(data, policy=policy.default) for data in raw]  # type: ignore[misc]

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages() if message["To"] == address]

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        with self._lock:
            self.attempts.append(address)
            answer = self.answers.get(address, self.answer)
        if answer == ACCEPT:
            envelope.rcpt_tos.append(address)
        return answer

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        while self.hold.is_set():
            self.held.set()
            await asyncio.sleep(0.05)
            if server.transport is None or server.transport.is_closing():
                return "421 4.4.2 Sender gone before the message was accepted"  # nothing was accepted
        with self._lock:
            self._messages.append(bytes(envelope.content))
        return "250 Message accepted"
