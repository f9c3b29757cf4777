"""One-click unsubscribe (RFC 8058): the headers of every email, the link's page and its POSTs, the
suppression list that refuses submissions and stops the notifier, and no address kept for it."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote

import pytest
from flask.testing import FlaskClient

from services.notifier import emails
from services.notifier.handlers import on_job_started
from shared.domain.emails import KINDS, EmailState
from shared.domain.model import JobStatus
from shared.events import JOB_STARTED, Event
from shared.ports import Adapters
from shared.unsubscribe import address_hash_of, mailbox_hash, normalise_mailbox, unsubscribe_token
from tests.support import new_job, read_outbox
from tests.unit.test_gateway_support import metric, post_form

ADDRESS = "Name+x@Example.com"
LINK_RE = re.compile(r"^<http://gateway\.test(/unsubscribe/[A-Za-z0-9_.-]+)>$")
ONE_CLICK = {"List-Unsubscribe": "One-Click"}


def emailed_path(adapters: Adapters, email: str = ADDRESS) -> str:
    """The path of the unsubscribe link in the started email of a job for `email`, as it was sent."""
    job = new_job(adapters.clock, status=JobStatus.RUNNING, email=email)
    adapters.store.add_job(job)
    on_job_started(adapters, Event(JOB_STARTED, job.id))
    [message] = [m for m in read_outbox(Path(adapters.settings.mail_outbox)) if job.id in m["Message-ID"]]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    match = LINK_RE.match(str(message["List-Unsubscribe"]))
    assert match, message["List-Unsubscribe"]
    return match.group(1)


def suppressed(adapters: Adapters, email: str = ADDRESS) -> bool:
    return adapters.store.is_suppressed(mailbox_hash(adapters.settings.secret_key, email))


def test_every_kind_of_email_carries_the_one_click_headers(adapters: Adapters) -> None:
    job = new_job(adapters.clock, status=JobStatus.FAILED, email=ADDRESS, failure_reason="nothing found")
    token = unsubscribe_token(adapters.settings.secret_key, ADDRESS)
    for kind in KINDS:
        mail = emails.render(kind, job, adapters.settings)
        assert mail.headers == {
            "List-Unsubscribe": f"<http://gateway.test/unsubscribe/{token}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        }, kind
    # One link per mailbox, and it does not spell the address.
    assert unsubscribe_token(adapters.settings.secret_key, "name@example.com") == token
    assert "name" not in token.lower() and "example" not in token.lower()
    assert address_hash_of(adapters.settings.secret_key, token) == mailbox_hash(adapters.settings.secret_key, ADDRESS)


def test_the_link_asks_first_and_get_changes_nothing(adapters: Adapters, client: FlaskClient) -> None:
    path = emailed_path(adapters)
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'<form method="post" action="{path}"' in html
    assert 'name="csrf_token"' in html and ">Unsubscribe</button>" in html
    assert "name@example.com" not in html.lower()
    client.get(path)
    assert not suppressed(adapters)


def test_the_pages_button_unsubscribes(adapters: Adapters, client: FlaskClient) -> None:
    path = emailed_path(adapters)
    done = post_form(client, path)
    assert done.status_code == 200
    assert "You are unsubscribed" in done.get_data(as_text=True)
    assert suppressed(adapters)
    assert suppressed(adapters, "NAME@example.com")
    again = client.get(path)
    assert "already unsubscribed" in again.get_data(as_text=True)
    assert metric(
        client.get("/metrics").get_data(as_text=True), "imgjob_gateway_unsubscribes_total", '{channel="form"}'
    )


def test_a_form_post_without_the_csrf_token_changes_nothing(adapters: Adapters, client: FlaskClient) -> None:
    path = emailed_path(adapters)
    for data in ({}, {"csrf_token": "forged"}, {**ONE_CLICK, "extra": "1"}, {"List-Unsubscribe": "one-click"}):
        refused = client.post(path, data=data)
        assert refused.status_code == 400, data
        assert "Nothing was changed" in refused.get_data(as_text=True)
    assert not suppressed(adapters)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("List-Unsubscribe=One-Click", "application/x-www-form-urlencoded"),
        (
            '--b\r\nContent-Disposition: form-data; name="List-Unsubscribe"\r\n\r\nOne-Click\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
        ),
        ("List-Unsubscribe=One-Click", None),
    ],
)
def test_a_mail_clients_one_click_post_unsubscribes_without_a_session(
    adapters: Adapters, client: FlaskClient, body: str, content_type: str | None
) -> None:
    path = emailed_path(adapters)
    headers = {"Content-Type": content_type} if content_type else {}
    done = client.post(path, data=body.encode(), headers=headers)  # a fresh client: no cookie, no CSRF token
    assert done.status_code == 200
    assert "You are unsubscribed" in done.get_data(as_text=True)
    assert suppressed(adapters)
    client.post(path, data=ONE_CLICK)  # a second click is harmless
    assert suppressed(adapters)


def _forgeries(secret_key: str) -> list[str]:
    real = unsubscribe_token(secret_key, ADDRESS)
    digest, signature = real.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    return [
        unsubscribe_token("another-key-" + secret_key, ADDRESS),  # signed with another key
        f"{digest}.{flipped}",  # signature changed
        f"{unsubscribe_token(secret_key, 'other@example.com').split('.')[0]}.{signature}",  # hash swapped
        real[:-1],  # cut short
        real + "A",
        digest,
        "not-a-token",
        "%00",
        "é" * 66,
        "x" * 5000,
        real.replace(".", "%2F"),
        " " + real,
    ]


def test_a_forged_or_malformed_token_is_not_found_and_changes_nothing(adapters: Adapters, client: FlaskClient) -> None:
    for token in _forgeries(adapters.settings.secret_key):
        for response in (
            client.get(f"/unsubscribe/{token}"),
            client.post(f"/unsubscribe/{token}", data=ONE_CLICK),
            post_form(client, f"/unsubscribe/{token}"),
        ):
            assert response.status_code == 404, token
            html = response.get_data(as_text=True)
            # A token with a slash in it does not even reach the view: the generic page then.
            assert "This unsubscribe link is not valid" in html or ("/" in unquote(token) and "Not found" in html)
    assert not suppressed(adapters)
    assert client.get("/unsubscribe/").status_code == 404


VARIANTS = ["Name+x@Example.com", "name@example.com", "NAME+other@EXAMPLE.COM", "name+@example.com"]


def test_an_unsubscribed_mailbox_is_refused_at_submission(adapters: Adapters, client: FlaskClient) -> None:
    client.post(emailed_path(adapters), data=ONE_CLICK)
    before = len(adapters.store.jobs_in(JobStatus.SCHEDULED))
    for email in VARIANTS:
        refused = client.post("/api/jobs", json={"query": "owls", "email": email, "count": 3})
        assert refused.status_code == 422, email
        assert set(refused.get_json()["errors"]) == {"email"}
        assert "asked not to receive imgjob emails" in refused.get_json()["errors"]["email"]
        form = {"query": "owls", "email": email, "count": "3", "now": "1"}
        page = post_form(client, "/jobs", form)
        html = page.get_data(as_text=True)
        assert page.status_code == 422, email
        assert 'id="email-error" aria-live="polite">This address asked not to receive imgjob emails' in html
        assert 'value="owls"' in html
    assert len(adapters.store.jobs_in(JobStatus.SCHEDULED)) == before
    assert client.post("/api/jobs", json={"query": "owls", "email": "name2@example.com", "count": 3}).status_code == 201


def test_the_notifier_sends_nothing_to_an_unsubscribed_mailbox(adapters: Adapters, client: FlaskClient) -> None:
    waiting = new_job(adapters.clock, status=JobStatus.RUNNING, email="name+later@example.com")
    adapters.store.add_job(waiting)  # scheduled before its owner unsubscribed
    client.post(emailed_path(adapters), data=ONE_CLICK)
    sent = len(read_outbox(Path(adapters.settings.mail_outbox)))
    on_job_started(adapters, Event(JOB_STARTED, waiting.id))
    on_job_started(adapters, Event(JOB_STARTED, waiting.id))  # a redelivery is settled too
    assert len(read_outbox(Path(adapters.settings.mail_outbox))) == sent
    record = adapters.store.emails(waiting.id)["started"]
    assert (record.state, record.detail, record.attempts) == (EmailState.REFUSED, "unsubscribed", 1)


def test_the_suppression_list_holds_no_address(adapters: Adapters, client: FlaskClient, tmp_path: Path) -> None:
    token = unsubscribe_token(adapters.settings.secret_key, "Private.Person+tag@Example.org")
    assert client.post(f"/unsubscribe/{token}", data=ONE_CLICK).status_code == 200
    assert suppressed(adapters, "private.person@example.org")
    files = [path for path in tmp_path.glob("imgjob.sqlite3*") if path.is_file()]
    data = b"".join(path.read_bytes() for path in files)
    assert data  # the database was found
    for plain in ("Private.Person", "private.person", "example.org", normalise_mailbox("Private.Person@Example.org")):
        assert plain.encode() not in data, plain
    assert mailbox_hash(adapters.settings.secret_key, "private.person@example.org").encode() in data
