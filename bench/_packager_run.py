"""One packager job in a process of its own, for bench_packager.py: the real handler on embedded adapters.

    python bench/_packager_run.py URLS_FILE WORK_DIR [BLOB_URL]

Creates a job in `packaging` with the URLs (one a line) as its links in a SQLite store under WORK_DIR,
runs the packager's handler for its `job.links_collected` as `imgjob packager` would, and prints one
JSON line: seconds and CPU seconds taken, the job's outcome, and this process's memory high-water mark
(VmHWM).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import sys
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.bootstrap import bootstrap, migrate
from services.packager.service import build_service
from shared.config import Settings
from shared.domain.model import JobStatus
from shared.events import JOB_LINKS_COLLECTED, Event
from tests.support import packaging_job


def memory_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def main(urls_file: str, work_dir: str, blob_url: str | None = None) -> int:
    # Nothing consumes job.ready here; the bus's warning about that is noise in the figures.
    logging.getLogger("shared.adapters.memory.bus").setLevel(logging.ERROR)
    work = Path(work_dir)
    urls = Path(urls_file).read_text().split()
    settings = Settings(
        store_url=f"sqlite:///{work / 'store.sqlite3'}",
        blob_url=blob_url or f"file:{work / 'blobs'}",
        mail_outbox=str(work / "outbox"),
        allow_private_networks=True,
        secret_key=secrets.token_urlsafe(48),
        # 500 images of 4 MiB are 2.1 GB, over the default job budget of 2 GB: the memory run measures
        # the whole job, not the budget's cut.
        max_job_bytes=4_000_000_000,
    )
    adapters = bootstrap(settings)
    migrate(adapters)
    job = packaging_job(adapters, urls, query="bench", email="bench@example.com")
    handler = build_service(adapters).handlers[JOB_LINKS_COLLECTED]
    idle_kb = memory_kb("VmRSS")

    started, cpu_started = time.perf_counter(), os.times()
    handler(Event(JOB_LINKS_COLLECTED, job.id))
    seconds, cpu = time.perf_counter() - started, os.times()

    peak_kb = memory_kb("VmHWM")
    done = adapters.store.get_job(job.id)
    assert done is not None
    entries = 0
    if done.status is JobStatus.READY and settings.blob_url.startswith("file:"):
        with zipfile.ZipFile(work / "blobs" / job.zip_key) as archive:
            entries = len(archive.namelist()) - 2  # the two manifests
    adapters.blobs.delete_prefix(f"jobs/{job.id}/")
    adapters.close()
    report = {
        "seconds": seconds,
        # CPU of this process while the job ran (all its threads): on a shared machine a steadier
        # figure than the seconds, which other processes' load stretches.
        "cpu_seconds": cpu.user + cpu.system - cpu_started.user - cpu_started.system,
        "status": done.status.value,
        "images": done.progress.images_downloaded,
        "failed": done.progress.images_failed,
        "zip_entries": entries,
        "zip_bytes": done.zip_bytes,
        "idle_rss_kb": idle_kb,
        "peak_rss_kb": peak_kb,
    }
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:]))
