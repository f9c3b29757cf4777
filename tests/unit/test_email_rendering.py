"""Whatever the query, the three emails render and both mailers can build them: one header line per field."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from services.notifier import emails
from shared.adapters.outbox.mailer import build_message
from shared.adapters.smtp.mailer import SmtpMailer
from shared.config import Settings
from shared.domain.model import Job, JobStatus, Progress
from shared.tokens import download_token
from tests.support import new_job, text_part

SENDER = "imgjob <imgjob@localhost>"
SETTINGS = Settings(public_url="http://gateway.test", secret_key="k" * 40)
NOW = datetime(2030, 6, 1, 10, 0, tzinfo=UTC)
KINDS = (emails.STARTED, emails.READY, emails.FAILED)
LINE_BREAKS = ("\r", "\n", "\u2028", "\u2029", "\u0085")
# Every character, lone surrogates included: st.text() leaves those out by default.
ANY_CHARACTER = st.characters(codec=None, exclude_categories=())
SMTP = SmtpMailer("smtp://127.0.0.1:1", SENDER)  # only builds messages here: nothing is sent


def job_for(kind: str, query: str) -> Job:
    status = {emails.STARTED: JobStatus.RUNNING, emails.READY: JobStatus.READY, emails.FAILED: JobStatus.FAILED}
    finished = kind != emails.STARTED
    return new_job(
        lambda: NOW,
        id="3f2a9c0d4b5e46a7b8c9d0e1f2a3b4c5",
        query=query,
        count=20,
        status=status[kind],
        progress=Progress(links_found=25, images_downloaded=18, images_failed=2),
        started_at=NOW,
        finished_at=NOW + timedelta(minutes=5) if finished else None,
        token_hash="h" if kind == emails.READY else None,
        expires_at=NOW + timedelta(days=1) if finished else None,
        failure_reason="bing: blocked by a CAPTCHA page" if kind == emails.FAILED else None,
    )


def check_every_mailer_takes_it(kind: str, query: str) -> None:
    job = job_for(kind, query)
    mail = emails.render(kind, job, SETTINGS)
    stable_id = f"<{job.id}.{kind}@gateway.test>"
    assert (mail.job_id, mail.kind, mail.message_id) == (job.id, kind, stable_id)
    assert mail.headers == emails.unsubscribe_headers(job.email, SETTINGS)

    # What the outbox writes, read back as a mail client would.
    parsed = email.message_from_bytes(bytes(build_message(mail, SENDER)), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    subjects = parsed.get_all("Subject")
    assert subjects is not None and len(subjects) == 1
    subject = str(subjects[0])
    assert not any(brk in subject for brk in LINE_BREAKS), ascii(subject)
    assert parsed["Message-ID"] == stable_id
    assert parsed["To"] == job.email
    assert f"http://gateway.test/jobs/{job.id}" in text_part(parsed) or kind == emails.READY
    if kind == emails.READY:
        assert f"http://gateway.test/download/{download_token(SETTINGS.secret_key, job.id)}" in text_part(parsed)

    # What the SMTP mailer hands the server, built without a connection.
    with SMTP._app.app_context():
        message = SMTP.message(mail)
        assert not message.has_bad_headers()
        assert message.as_bytes()


def check_subject_and_bodies(kind: str, query: str) -> None:
    mail = emails.render(kind, job_for(kind, query), SETTINGS)
    shown = emails.subject_query(query)
    assert 1 <= len(shown) <= emails.SUBJECT_QUERY_LENGTH
    assert shown == shown.strip() and "  " not in shown
    for text in (mail.subject, mail.text, mail.html):
        assert not any(emails.unicodedata.category(c) in emails.UNSAFE_CATEGORIES and c != "\n" for c in text)
    assert "\n" not in mail.subject


QUERY_EXAMPLES = [
    "red\u2028fox",
    "a\u2029b",
    "x\u0085y",
    "\u202eevil",
    "\r\n",
    "😀" * 500,
    "\x00\x07",
    "=?utf-8?q?x?=",
    "",
    "red\ud800fox",  # a lone surrogate, as a badly decoded form might leave it
    "tabby <cats> & kittens",
    "e\u0301" * 100,  # accents that must stay on their letter when the subject is cut
]


def with_examples(test: Callable[..., None]) -> Callable[..., None]:
    """`test` with each of QUERY_EXAMPLES as an explicit example, always tried before the generated ones."""
    for query in QUERY_EXAMPLES:
        test = example(query=query)(test)
    return test


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=200, deadline=None)
@with_examples
@given(query=st.text(alphabet=ANY_CHARACTER, max_size=500))
def test_any_query_renders_into_a_message_both_mailers_accept(kind: str, query: str) -> None:
    check_subject_and_bodies(kind, query)
    check_every_mailer_takes_it(kind, query)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("query", QUERY_EXAMPLES)
def test_the_awkward_queries_render(kind: str, query: str) -> None:
    check_subject_and_bodies(kind, query)
    check_every_mailer_takes_it(kind, query)


def test_a_line_separator_becomes_a_space_in_the_subject_and_the_text() -> None:
    mail = emails.render(emails.STARTED, job_for(emails.STARTED, "red\u2028fox"), SETTINGS)
    assert mail.subject == "Started: your images for “red fox” are on their way"
    assert "Search: red fox\n" in mail.text
    assert "<strong>red fox</strong>" in mail.html


def test_a_long_query_is_cut_to_60_characters_with_an_ellipsis() -> None:
    shown = emails.subject_query("😀" * 500)
    assert shown == "😀" * 59 + "…"
    assert emails.subject_query("e\u0301" * 100).endswith("e\u0301…")


def test_nothing_printable_left_reads_your_search() -> None:
    for query in ("", "\r\n", "\x00\x07", "\u202e\u200b"):
        assert emails.render(emails.FAILED, job_for(emails.FAILED, query), SETTINGS).subject == (
            "Failed: your image search for “your search”"
        )


def test_html_stays_escaped() -> None:
    mail = emails.render(emails.READY, job_for(emails.READY, "tabby <cats> & kittens"), SETTINGS)
    assert "tabby &lt;cats&gt; &amp; kittens" in mail.html


def test_the_message_id_falls_back_when_the_public_url_has_no_host() -> None:
    assert emails.message_id("j1", "ready", "http://gateway.test:8000") == "<j1.ready@gateway.test>"
    assert emails.message_id("j1", "ready", "file:///x") == "<j1.ready@imgjob.local>"
    assert emails.message_id("j1", "ready", "http://[::1]:8000") == "<j1.ready@[::1]>"
