"""`/download/<token>`: the zip with its headers, byte ranges, and "Link has expired"."""

from __future__ import annotations

import os
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from services.gateway.presenters import download_filename, slugify
from services.gateway.views_download import ByteRange, Unsatisfiable, parse_range
from shared.domain.model import JobStatus
from shared.ports import Adapters
from tests.support import OWNER_EMAIL, SettableClock, add_job, make_ready_job

# More than one read chunk of the file store, so streaming and ranges cross chunk boundaries.
ZIP = os.urandom(600_000)


def test_download_streams_the_whole_zip_with_its_headers(client: FlaskClient, adapters: Adapters) -> None:
    job, token = make_ready_job(adapters, ZIP, query='Red "Vintage" Bikes / 2024?')
    response = client.get(f"/download/{token}")
    assert response.status_code == 200
    assert response.data == ZIP
    assert response.headers["Content-Type"] == "application/zip"
    assert response.headers["Content-Length"] == str(len(ZIP))
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="imgjob-red-vintage-bikes-2024-{job.id[:8]}.zip"'
    )
    assert "no-store" in response.headers["Cache-Control"]


def test_a_range_request_gets_206_with_exactly_those_bytes(client: FlaskClient, adapters: Adapters) -> None:
    _, token = make_ready_job(adapters, ZIP)
    response = client.get(f"/download/{token}", headers={"Range": "bytes=262000-262999"})
    assert response.status_code == 206
    assert response.data == ZIP[262000:263000]
    assert response.headers["Content-Range"] == f"bytes 262000-262999/{len(ZIP)}"
    assert response.headers["Content-Length"] == "1000"

    tail = client.get(f"/download/{token}", headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.data == ZIP[-100:]
    rest = client.get(f"/download/{token}", headers={"Range": "bytes=599990-"})
    assert rest.status_code == 206 and rest.data == ZIP[599990:]


def test_resuming_honours_if_range(client: FlaskClient, adapters: Adapters) -> None:
    _, token = make_ready_job(adapters, ZIP)
    etag = client.get(f"/download/{token}").headers["ETag"]
    same = client.get(f"/download/{token}", headers={"Range": "bytes=10-19", "If-Range": etag})
    assert same.status_code == 206 and same.data == ZIP[10:20]
    changed = client.get(f"/download/{token}", headers={"Range": "bytes=10-19", "If-Range": '"other"'})
    assert changed.status_code == 200 and changed.data == ZIP


def test_a_range_past_the_end_is_416(client: FlaskClient, adapters: Adapters) -> None:
    _, token = make_ready_job(adapters, ZIP)
    response = client.get(f"/download/{token}", headers={"Range": f"bytes={len(ZIP)}-"})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{len(ZIP)}"


@pytest.mark.parametrize("header", ["bytes=5-2", "bytes=0-1,5-6", "items=0-5", "bytes=" + "9" * 40 + "-", "bytes=-"])
def test_malformed_or_multiple_ranges_get_the_whole_file(client: FlaskClient, adapters: Adapters, header: str) -> None:
    _, token = make_ready_job(adapters, ZIP)
    response = client.get(f"/download/{token}", headers={"Range": header})
    assert response.status_code == 200
    assert response.data == ZIP


@pytest.mark.parametrize(
    ("header", "size", "expected"),
    [
        (None, 10, None),
        ("bytes=0-0", 10, ByteRange(0, 0)),
        ("bytes=2-100", 10, ByteRange(2, 9)),
        ("BYTES = 3 - 4", 10, ByteRange(3, 4)),
        ("bytes=-3", 10, ByteRange(7, 9)),
        ("bytes=-30", 10, ByteRange(0, 9)),
        ("bytes=4-", 10, ByteRange(4, 9)),
    ],
)
def test_parse_range(header: str | None, size: int, expected: ByteRange | None) -> None:
    assert parse_range(header, size) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=10-", 10), ("bytes=-0", 10), ("bytes=-5", 0), ("bytes=0-", 0)])
def test_parse_range_unsatisfiable(header: str, size: int) -> None:
    with pytest.raises(Unsatisfiable):
        parse_range(header, size)


def test_after_purge_the_link_says_it_has_expired(client: FlaskClient, adapters: Adapters) -> None:
    job, token = make_ready_job(adapters, ZIP)
    adapters.store.purge_job(job.id)
    adapters.blobs.delete_prefix(job.blob_prefix)
    response = client.get(f"/download/{token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "text/html" in response.content_type
    assert "Link has expired" in html
    # Only a hash of the token is left: nothing to fill the form with, so the empty form is offered.
    assert re.search(r'<a class="button" href="/">Schedule a new search</a>', html)
    assert "red bikes" not in html and "red+bikes" not in html


def test_the_link_expires_at_its_time_even_before_the_janitor_runs(
    client: FlaskClient, adapters: Adapters, clock: SettableClock
) -> None:
    _, token = make_ready_job(adapters, ZIP, ttl=60)
    assert client.get(f"/download/{token}").status_code == 200
    clock.advance(seconds=61)
    response = client.get(f"/download/{token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "Link has expired" in html
    # Not purged yet: the same search can be offered, filled in (never with the email address).
    link = re.search(r'<a class="button" href="([^"]+)">Schedule the same search again</a>', html)
    assert link, html
    assert parse_qs(urlsplit(unescape(link.group(1))).query) == {"query": ["red bikes"], "count": ["3"], "now": ["1"]}
    assert OWNER_EMAIL not in html


def test_a_ready_job_whose_zip_is_gone_is_expired_not_an_error(client: FlaskClient, adapters: Adapters) -> None:
    job, token = make_ready_job(adapters, ZIP)
    adapters.blobs.delete_prefix(job.blob_prefix)
    assert client.get(f"/download/{token}").status_code == 410


@pytest.mark.parametrize("token", ["unknown-token", "x" * 5000, "%00"])
def test_unknown_tokens_are_404(client: FlaskClient, adapters: Adapters, token: str) -> None:
    make_ready_job(adapters, ZIP)
    response = client.get(f"/download/{token}")
    assert response.status_code == 404
    assert "text/html" in response.content_type


def test_a_job_that_is_not_ready_serves_nothing(client: FlaskClient, adapters: Adapters) -> None:
    job = add_job(adapters, status=JobStatus.PACKAGING)
    assert client.get(f"/download/{job.id}").status_code == 404


@pytest.mark.parametrize(
    ("query", "slug"),
    [
        ("Café au lait", "cafe-au-lait"),
        ('a"b\r\nContent-Type: x', "a-b-content-type-x"),
        ("../../etc/passwd", "etc-passwd"),
        ("猫", ""),
        ("x" * 100, "x" * 40),
    ],
)
def test_slug_keeps_only_safe_characters(query: str, slug: str) -> None:
    assert slugify(query) == slug


def test_download_filename_falls_back_when_the_query_has_no_latin_letters(adapters: Adapters) -> None:
    job = add_job(adapters, query="猫")
    assert download_filename(job) == f"imgjob-images-{job.id[:8]}.zip"
