"""Each port's contract suite runs against every adapter listed here (real ones join in later)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from shared.adapters.file_blobs import FileBlobStore
from shared.adapters.mailers import OutboxMailer, SmtpMailer
from shared.adapters.memory_bus import MemoryBus
from shared.adapters.sqlite_store import SqliteJobStore
from shared.ports import BlobStore, JobStore, Mailer, MessageBus


@pytest.fixture(params=["memory"])
def bus(request: pytest.FixtureRequest) -> Iterator[MessageBus]:
    instance = MemoryBus(max_deliveries=3)
    yield instance
    instance.close()


@pytest.fixture(params=["sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    instance = SqliteJobStore(tmp_path / "store.sqlite3")
    instance.migrate()
    yield instance
    instance.close()


@pytest.fixture(params=["file"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    instance = FileBlobStore(tmp_path / "blobs")
    instance.migrate()
    return instance


class CapturingHandler(MessageHandler):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[object] = []

    def handle_message(self, message: object) -> None:
        self.messages.append(message)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MailSink:
    """Where a mailer's messages end up, read back as email.message.Message objects."""

    def __init__(self, mailer: Mailer, read: object) -> None:
        self.mailer = mailer
        self.read = read


@pytest.fixture(params=["outbox", "smtp"])
def mail_sink(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MailSink]:
    if request.param == "outbox":
        from tests.support import read_outbox

        yield MailSink(
            OutboxMailer(tmp_path / "outbox", "imgjob <imgjob@localhost>"), lambda: read_outbox(tmp_path / "outbox")
        )
        return
    handler = CapturingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        mailer = SmtpMailer(f"smtp://127.0.0.1:{controller.port}", "imgjob <imgjob@localhost>")
        yield MailSink(mailer, lambda: list(handler.messages))
    finally:
        controller.stop()
