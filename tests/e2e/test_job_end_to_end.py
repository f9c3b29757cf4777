"""A job from HTTP submission to emailed zip to expiry, and the failure path, on embedded adapters."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.e2e.system import RunningSystem, blob_keys, personal_data_left, running_system
from tests.fakeweb import FakeWeb
from tests.support import text_part, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

LINK_TTL = 8


class FormValues(HTMLParser):
    """The values of a page's form fields, as a browser would submit them."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.values: dict[str, str] = {}
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        name = a.get("name")
        if tag != "input" or not name:
            return
        if a.get("type") == "checkbox":
            if "checked" in a:
                self.values[name] = a.get("value") or "on"
        else:
            self.values[name] = a.get("value") or ""


def emails_to(system: RunningSystem, address: str, subject_prefix: str) -> list:  # type: ignore[type-arg]
    return [m for m in system.emails() if m["To"] == address and m["Subject"].startswith(subject_prefix)]


def link_in(message, pattern: str) -> str:  # type: ignore[no-untyped-def]
    match = re.search(pattern, text_part(message))
    assert match, f"no link like {pattern} in:\n{text_part(message)}"
    return match.group(0)


def test_a_scheduled_job_is_harvested_zipped_emailed_and_then_forgotten(
    web: FakeWeb, tmp_path: Path, stack: str
) -> None:
    email = f"harvest-{uuid.uuid4().hex[:8]}@example.com"
    query = f"red bicycles {uuid.uuid4().hex[:8]}"
    bing = web.bing_url(total=40, fail_every=9)
    with running_system(stack, tmp_path, IMGJOB_BING_URL=bing, IMGJOB_LINK_TTL=str(LINK_TTL)) as system:
        scheduled_at = datetime.now(UTC) + timedelta(seconds=4)
        answer = requests.post(
            f"{system.url}/api/jobs",
            json={"query": query, "email": email, "count": 12, "scheduled_at": scheduled_at.isoformat()},
            timeout=10,
        )
        assert answer.status_code == 201, answer.text
        job_id = answer.json()["id"]
        status_url = f"{system.url}/api/jobs/{job_id}"

        # Not early: until its time the job stays scheduled and nobody is emailed.
        while datetime.now(UTC) < scheduled_at - timedelta(seconds=0.3):
            state = requests.get(status_url, timeout=5).json()
            assert state["status"] == "scheduled", state
            assert emails_to(system, email, "Started") == []
        wait_until(lambda: emails_to(system, email, "Started"), timeout=30, what="the started email")
        assert datetime.now(UTC) >= scheduled_at

        [ready] = wait_until(lambda: emails_to(system, email, "Ready"), timeout=120, what="the ready email")
        assert email not in requests.get(status_url, timeout=5).text
        download_url = link_in(ready, rf"{re.escape(system.url)}/download/[A-Za-z0-9_-]+")
        response = requests.get(download_url, timeout=30)
        assert response.status_code == 200
        # At rest the store keeps only a keyed hash of the token: the link is in the email alone.
        assert personal_data_left(system, download_url.rsplit("/", 1)[-1], store_only=True) == []
        assert "attachment" in response.headers["Content-Disposition"]

        archive = zipfile.ZipFile(io.BytesIO(response.content))
        manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
        images = [row for row in manifest if row["status"] == "ok"]
        failures = [row for row in manifest if row.get("status") == "failed"]
        assert len(images) + len(failures) == 12
        assert failures, f"every 9th image fails on the fake server; the manifest must say so: {manifest}"
        assert all(row["reason"] for row in failures)
        for row in images:
            data = archive.read(row["file"])
            assert hashlib.sha256(data).hexdigest() == row["sha256"]
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                assert (image.width, image.height) == (int(row["width"]), int(row["height"]))
        assert sorted(archive.namelist()) == sorted([r["file"] for r in images] + ["manifest.csv", "manifest.json"])

        # After the link's time: 410, and nothing of the person left anywhere of ours (their mailbox is theirs).
        wait_until(
            lambda: requests.get(download_url, timeout=5).status_code == 410,
            timeout=LINK_TTL + 30,
            what="the link to expire",
        )
        # The janitor's sweep runs every second; wait for it to have purged, then look at what is left.
        wait_until(lambda: requests.get(status_url, timeout=5).status_code == 404, timeout=30, what="the purge")
        assert "Link has expired" in requests.get(download_url, timeout=5).text
        token = download_url.rsplit("/", 1)[-1]
        assert personal_data_left(system, email, query, token) == []
        assert blob_keys(system, job_id) == []


def test_a_captcha_page_fails_the_job_and_the_retry_link_schedules_it_again(
    web: FakeWeb, tmp_path: Path, stack: str
) -> None:
    email = f"blocked-{uuid.uuid4().hex[:8]}@example.com"
    with running_system(stack, tmp_path, IMGJOB_BING_URL=web.bing_url(captcha=True)) as system:
        answer = requests.post(
            f"{system.url}/api/jobs", json={"query": "blocked query", "email": email, "count": 7}, timeout=10
        )
        assert answer.status_code == 201, answer.text
        [failed] = wait_until(lambda: emails_to(system, email, "Failed"), timeout=60, what="the failed email")
        assert "captcha" in text_part(failed).lower()
        state = requests.get(f"{system.url}/api/jobs/{answer.json()['id']}", timeout=5).json()
        assert state["status"] == "failed"

        again_url = link_in(failed, rf"{re.escape(system.url)}/jobs/[0-9a-f]+/again\?sig=[0-9a-f]+")
        # Opening the link (as a mail scanner would) schedules nothing by itself.
        page = requests.get(again_url, timeout=5)
        assert page.status_code == 200
        values = FormValues(page.text).values
        assert (values["query"], values["count"], values["email"]) == ("blocked query", "7", email)
        assert len([m for m in system.emails() if m["To"] == email]) == 2  # started and failed, nothing new

        session = requests.Session()
        form_page = session.get(again_url, timeout=5)
        submitted = session.post(f"{system.url}/jobs", data=FormValues(form_page.text).values, timeout=10)
        assert submitted.status_code == 200 and "/jobs/" in submitted.url
        new_id = submitted.url.rstrip("/").rsplit("/", 1)[-1]
        assert new_id != answer.json()["id"]
        again = requests.get(f"{system.url}/api/jobs/{new_id}", timeout=5).json()
        assert (again["query"], again["count"]) == ("blocked query", 7)
        wait_until(lambda: len(emails_to(system, email, "Started")) == 2, timeout=30, what="the retried job to start")
