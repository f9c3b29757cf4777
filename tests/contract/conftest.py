"""Each port's contract suite runs against every adapter of the port: the fixtures are parametrized."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message as MessageHandler

from shared.adapters.files.blobs import FileBlobStore
from shared.adapters.outbox.mailer import OutboxMailer
from shared.adapters.s3.blobs import S3BlobStore
from shared.adapters.smtp.mailer import SmtpMailer
from shared.ports import BlobStore, Mailer, NotMigrated
from tests.contract.fixtures_bus import bus
from tests.contract.fixtures_store import store, unmigrated_store
from tests.infra import require_reachable
from tests.support.network import free_port


@pytest.fixture(params=["file", "s3"])
def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlobStore]:
    if request.param == "file":
        instance = FileBlobStore(tmp_path / "blobs")
        instance.migrate()
        yield instance
        return
    # A bucket of its own per test, removed afterwards.
    base = require_reachable("blobs")
    parts = urlsplit(base)
    bucket = f"imgjob-test-{uuid.uuid4().hex[:12]}"
    store = S3BlobStore(urlunsplit(parts._replace(path=f"/{bucket}")))
    store.migrate()
    try:
        yield store
    finally:
        store.delete_prefix("")
        store.client.remove_bucket(bucket)


@dataclass
class UnmigratedBlobs:
    """`name` is a directory under a missing folder, or a bucket never created; `open` makes a blob
    store for it, `exists` tells whether the folder or bucket exists now (bypassing the blob store)."""

    name: str
    open: Callable[[], BlobStore]
    exists: Callable[[], bool]


@pytest.fixture(params=["file", "s3"])
def unmigrated_blobs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UnmigratedBlobs]:
    if request.param == "file":
        root = tmp_path / "absent" / "blobs"
        yield UnmigratedBlobs(str(root), lambda: FileBlobStore(root), root.parent.exists)
        return
    parts = urlsplit(require_reachable("blobs"))
    url = urlunsplit(parts._replace(path=f"/imgjob-test-{uuid.uuid4().hex[:12]}"))
    admin = S3BlobStore(url)
    yield UnmigratedBlobs(admin.bucket, lambda: S3BlobStore(url), lambda: admin.client.bucket_exists(admin.bucket))
    if admin.client.bucket_exists(admin.bucket):
        admin.delete_prefix("")
        admin.client.remove_bucket(admin.bucket)


def assert_refused_until_migrated(ping: Callable[[], None], name: str) -> None:
    """A readiness probe asks again and again: each time, NotMigrated naming `name` and the command."""
    for _ in range(2):
        with pytest.raises(NotMigrated, match="imgjob migrate") as failure:
            ping()
        assert name in str(failure.value)


class CapturingHandler(MessageHandler):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[object] = []

    def handle_message(self, message: object) -> None:
        self.messages.append(message)


class MailSink:
    """Where a mailer's messages end up, read back as email.message.Message objects."""

    def __init__(self, kind: str, mailer: Mailer, read: object) -> None:
        self.kind = kind
        self.mailer = mailer
        self.read = read


@pytest.fixture(params=["outbox", "smtp"])
def mail_sink(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[MailSink]:
    if request.param == "outbox":
        from tests.support import read_outbox

        yield MailSink(
            "outbox",
            OutboxMailer(tmp_path / "outbox", "imgjob <imgjob@localhost>"),
            lambda: read_outbox(tmp_path / "outbox"),
        )
        return
    handler = CapturingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        mailer = SmtpMailer(f"smtp://127.0.0.1:{controller.port}", "imgjob <imgjob@localhost>")
        yield MailSink("smtp", mailer, lambda: list(handler.messages))
    finally:
        controller.stop()


__all__ = ["blobs", "bus", "mail_sink", "store", "unmigrated_blobs", "unmigrated_store"]
