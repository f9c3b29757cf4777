"""A packager killed mid-job (SIGKILL, no chance to clean up: its zip half written) and the event
redelivered: the job ends ready with each image once in one zip, no stray objects or partial files, and
one ready email."""

from __future__ import annotations

import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.bootstrap import bootstrap, migrate
from services.notifier.service import build_service as build_notifier
from services.packager.service import build_service as build_packager
from shared.config import Settings
from shared.domain.model import Job, JobStatus
from shared.events import JOB_LINKS_COLLECTED, JOB_READY, Event
from shared.ports import Adapters
from shared.tokens import download_token
from tests.fakeweb import FakeWeb
from tests.support import EventRecorder, packaging_job, read_outbox, text_part, wait_until

ROOT = Path(__file__).resolve().parents[2]
IMAGES = 40


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    with FakeWeb() as server:
        yield server


def _environment(tmp_path: Path) -> dict[str, str]:
    return {
        "IMGJOB_STORE_URL": f"sqlite:///{tmp_path}/store.sqlite3",
        "IMGJOB_BLOB_URL": f"file:{tmp_path}/blobs",
        "IMGJOB_MAIL_OUTBOX": str(tmp_path / "outbox"),
        "IMGJOB_ALLOW_PRIVATE_NETWORKS": "true",
        "IMGJOB_SECRET_KEY": "test",
        # 4 at a time, 250 ms each: about 2.5 s for the job, time enough to kill it in the middle.
        "IMGJOB_DOWNLOAD_PER_HOST": "4",
    }


def _files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def _kill_mid_job(tmp_path: Path, env: dict[str, str], adapters: Adapters, job: Job) -> None:
    """Run one delivery in a child process and SIGKILL it once some images are downloaded and its zip
    is being written."""
    job_dir = tmp_path / "blobs" / "jobs" / job.id
    child_tmp = tmp_path / "child-tmp"
    child_tmp.mkdir()
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.unit.packager_crash_worker", job.id],
        cwd=ROOT,
        env={**os.environ, **env, "TMPDIR": str(child_tmp)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def under_way() -> bool:
        current = adapters.store.get_job(job.id)
        assert current is not None
        zipping = list(job_dir.glob(".images.zip.*.part")) if job_dir.exists() else []  # the file store's partial file
        if current.progress.images_downloaded >= 8 and zipping:
            return True
        assert child.poll() is None, f"the worker ended before it was killed: {child.stderr.read()!r}"  # type: ignore[union-attr]
        return False

    try:
        wait_until(under_way, timeout=60, interval=0.02, what="the worker to make progress")
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=10) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        assert child.stderr is not None
        child.stderr.close()


def test_a_packager_killed_mid_job_is_finished_by_the_redelivery(web: FakeWeb, tmp_path: Path) -> None:
    env = _environment(tmp_path)
    adapters = bootstrap(Settings.from_env(env))
    migrate(adapters)
    urls = [f"{web.url}/img/{n}.png?latency_ms=250&size={100 + n}" for n in range(1, IMAGES + 1)]
    job = packaging_job(adapters, urls, query="crash test")
    announced = EventRecorder(adapters, "test.ready", [JOB_READY])
    adapters.bus.start()
    try:
        _kill_mid_job(tmp_path, env, adapters, job)
        killed = adapters.store.get_job(job.id)
        assert killed is not None and killed.status is JobStatus.PACKAGING
        assert 0 < killed.progress.images_downloaded < IMAGES
        leftovers = _files(tmp_path / "blobs")
        assert len(leftovers) == 1 and leftovers[0].startswith(f"jobs/{job.id}/.images.zip."), "a partial zip only"
        assert adapters.blobs.size(job.zip_key) is None

        # The bus redelivers the unacknowledged event; then once more, as if that ack were lost too.
        packager = build_packager(adapters).dispatch
        packager(Event(JOB_LINKS_COLLECTED, job.id))
        packager(Event(JOB_LINKS_COLLECTED, job.id))
        ready_events = announced.wait_for(JOB_READY, timeout=10, count=2)
        notifier = build_notifier(adapters).dispatch
        for event in ready_events:
            notifier(event)

        done = adapters.store.get_job(job.id)
        assert done is not None and done.status is JobStatus.READY
        assert (done.progress.images_downloaded, done.progress.images_failed) == (IMAGES, 0)
        assert _files(tmp_path / "blobs") == [job.zip_key], "one zip, no images or partial files left"
        raw = b"".join(adapters.blobs.read(job.zip_key))
        assert done.zip_bytes == len(raw)
    finally:
        adapters.close()

    archive = zipfile.ZipFile(io.BytesIO(raw))
    assert archive.namelist() == [f"{n:04d}.png" for n in range(1, IMAGES + 1)] + ["manifest.csv", "manifest.json"]
    manifest = json.loads(archive.read("manifest.json"))
    assert [entry["url"] for entry in manifest["images"]] == urls
    assert manifest["failed"] == [] and manifest["duplicates"] == []
    digests = [hashlib.sha256(archive.read(entry["file"])).hexdigest() for entry in manifest["images"]]
    assert digests == [entry["sha256"] for entry in manifest["images"]]
    assert len(set(digests)) == IMAGES
    assert [entry["width"] for entry in manifest["images"]] == [100 + n for n in range(1, IMAGES + 1)]

    mails = read_outbox(tmp_path / "outbox")
    assert len(mails) == 1, "one ready email for two job.ready deliveries"
    message = mails[0]
    assert str(message["Subject"]).startswith("Ready")
    assert f"/download/{download_token(adapters.settings.secret_key, done.id)}" in text_part(message)
