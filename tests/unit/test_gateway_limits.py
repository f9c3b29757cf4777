"""Rate limits on submission, per client network and per mailbox, for the form and the API, counted in the
store every gateway process shares."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from services.gateway.app import create_app
from services.gateway.ratelimit import Limits, Rate, client_network, wait_phrase
from shared.config import Settings
from shared.domain.model import JobStatus
from shared.ports import Adapters
from shared.unsubscribe import normalise_mailbox
from tests.support import SettableClock, embedded_adapters
from tests.unit.test_gateway_support import metric, post_form


def api_body(email: str = "api@example.com", **changes: object) -> dict[str, object]:
    return {"query": "lighthouses", "email": email, "count": 3, **changes}


def limited_client(tmp_path: Path, clock: SettableClock, **limits: str) -> tuple[FlaskClient, Adapters]:
    adapters = embedded_adapters(tmp_path, clock, **limits)
    return create_app(adapters).test_client(), adapters


@pytest.fixture
def closing() -> Iterator[list[Adapters]]:
    opened: list[Adapters] = []
    yield opened
    for adapters in opened:
        adapters.close()


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("30/minute", Rate(30, 60)),
        ("10/hour", Rate(10, 3600)),
        (" 5 / 10 seconds ", Rate(5, 10)),
        ("100/DAY", Rate(100, 86400)),
        ("off", None),
        ("", None),
    ],
)
def test_rates_are_read_from_settings(text: str, rate: Rate | None) -> None:
    assert Rate.parse(text) == rate


@pytest.mark.parametrize("text", ["30", "30/fortnight", "-1/minute", "0/minute", "1/0minutes", "many"])
def test_a_malformed_rate_is_refused_at_startup(text: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        Rate.parse(text)
    with pytest.raises(ValueError, match="rate limit"):
        create_app(embedded_adapters(tmp_path, rate_limit_per_email=text))


def test_defaults_let_a_person_or_a_test_submit_several_jobs_quickly() -> None:
    settings = Settings.from_env({})
    assert (settings.rate_limit_per_address, settings.rate_limit_per_email) == ("30/minute", "10/hour")
    changed = Settings.from_env({"IMGJOB_RATE_LIMIT_PER_ADDRESS": "off", "IMGJOB_RATE_LIMIT_PER_EMAIL": "3/day"})
    assert (changed.rate_limit_per_address, changed.rate_limit_per_email) == ("off", "3/day")
    assert Settings.from_env({"IMGJOB_PROXY_HOPS": "1"}).proxy_hops == 1


def test_windows_are_fixed_and_a_refused_hit_is_told_when_its_window_ends(tmp_path: Path) -> None:
    clock = SettableClock(datetime(2030, 1, 1, 12, 0, 15, tzinfo=UTC))  # 15 s into a minute
    adapters = embedded_adapters(tmp_path, clock)
    try:
        limits = Limits.create("2/minute", "off", adapters.store, "k" * 48, clock)
        assert limits.admit("203.0.113.9") is None
        clock.advance(seconds=30)
        assert limits.admit("203.0.113.9") is None
        refused = limits.admit("203.0.113.9")
        assert refused is not None and refused.limit == "address"
        assert refused.retry_after == 15.0  # the minute ends at 12:01:00
        assert "at most 2 per minute" in refused.message and "15 seconds" in refused.message
        assert limits.admit("203.0.113.10") is None  # another network has its own count
        assert limits.admit("203.0.113.11", "someone@example.com") is None  # "off"
        clock.advance(seconds=15)  # 12:01:00, a new window
        assert limits.admit("203.0.113.9") is None
        assert limits.admit("203.0.113.9") is None
        assert limits.admit("203.0.113.9") is not None
    finally:
        adapters.close()


@pytest.mark.parametrize(
    ("address", "network"),
    [
        ("203.0.113.7", "203.0.113.7"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:DB8:1:2::ffff", "2001:db8:1:2::/64"),
        ("fe80::1%eth0", "fe80::/64"),
        ("unknown", "unknown"),
    ],
)
def test_clients_are_counted_by_network(address: str, network: str) -> None:
    assert client_network(address) == network


@pytest.mark.parametrize(
    ("email", "mailbox"),
    [
        ("Name@Example.com", "name@example.com"),
        ("name+1@example.com", "name@example.com"),
        ("NAME+news+2@EXAMPLE.COM", "name@example.com"),
        ("n.a.m.e@gmail.com", "name@gmail.com"),
        ("N.A.M.E+x@GoogleMail.com", "name@gmail.com"),
        ("n.a.m.e@example.com", "n.a.m.e@example.com"),  # dots matter elsewhere
    ],
)
def test_mailboxes_are_normalised(email: str, mailbox: str) -> None:
    assert normalise_mailbox(email) == mailbox


def test_an_ipv6_client_cannot_walk_around_the_limit_inside_its_64(
    tmp_path: Path, clock: SettableClock, closing: list[Adapters]
) -> None:
    client, adapters = limited_client(tmp_path, clock, rate_limit_per_address="2/minute", rate_limit_per_email="off")
    closing.append(adapters)

    def post(address: str) -> int:
        return client.post("/api/jobs", json=api_body(), environ_base={"REMOTE_ADDR": address}).status_code

    assert post("2001:db8:aa:bb::1") == 201
    assert post("2001:db8:aa:bb::2") == 201
    assert post("2001:db8:aa:bb:ffff:ffff:ffff:fffe") == 429  # same /64, another address
    assert post("2001:db8:aa:bc::1") == 201  # the next /64 is someone else
    assert post("192.0.2.44") == 201
    assert post("::ffff:192.0.2.44") == 201
    assert post("192.0.2.44") == 429  # the mapped address was the same client


def test_one_mailbox_however_it_is_spelled_has_one_allowance(
    tmp_path: Path, clock: SettableClock, closing: list[Adapters]
) -> None:
    client, adapters = limited_client(tmp_path, clock, rate_limit_per_address="off", rate_limit_per_email="3/hour")
    closing.append(adapters)
    assert client.post("/api/jobs", json=api_body("name+1@gmail.com")).status_code == 201
    assert client.post("/api/jobs", json=api_body("Name@gmail.com")).status_code == 201
    assert client.post("/api/jobs", json=api_body("n.a.m.e@googlemail.com")).status_code == 201
    refused = client.post("/api/jobs", json=api_body("N.a.m.e+again@Gmail.com"))
    assert refused.status_code == 429
    assert set(refused.get_json()["errors"]) == {"email"}
    assert client.post("/api/jobs", json=api_body("name2@gmail.com")).status_code == 201


def test_every_app_on_one_store_shares_the_counts(
    tmp_path: Path, clock: SettableClock, closing: list[Adapters]
) -> None:
    """Two gateway processes (here two apps, each with its own adapters) on one store: one limit."""
    changes = {"rate_limit_per_address": "off", "rate_limit_per_email": "2/hour"}
    first, adapters = limited_client(tmp_path, clock, **changes)
    second, others = limited_client(tmp_path, clock, **changes)
    closing.extend([adapters, others])
    assert first.post("/api/jobs", json=api_body("shared@example.com")).status_code == 201
    assert second.post("/api/jobs", json=api_body("shared@example.com")).status_code == 201
    assert first.post("/api/jobs", json=api_body("shared@example.com")).status_code == 429
    assert second.post("/api/jobs", json=api_body("shared@example.com")).status_code == 429


def test_the_counters_hold_no_address(tmp_path: Path, clock: SettableClock, closing: list[Adapters]) -> None:
    client, adapters = limited_client(tmp_path, clock, rate_limit_per_address="5/minute", rate_limit_per_email="5/hour")
    closing.append(adapters)
    assert client.post("/api/jobs", json=api_body("counted@example.com"), environ_base={"REMOTE_ADDR": "198.51.100.77"})
    db = sqlite3.connect(tmp_path / "imgjob.sqlite3")
    try:
        rows = db.execute("SELECT rate_key, hits FROM rate_limits ORDER BY rate_key").fetchall()
    finally:
        db.close()
    assert [hits for _, hits in rows] == [1, 1]
    keys = " ".join(key for key, _ in rows)
    assert re.fullmatch(r"mailbox:[0-9a-f]{64} network:[0-9a-f]{64}", keys)
    for plain in ("counted", "198.51.100.77", "example.com"):
        assert plain not in keys


@pytest.mark.parametrize(
    ("seconds", "phrase"), [(0.2, "1 second"), (45, "45 seconds"), (61, "2 minutes"), (3601, "2 hours")]
)
def test_wait_phrases(seconds: float, phrase: str) -> None:
    assert wait_phrase(seconds) == phrase


def test_the_api_refuses_a_busy_address_with_429_and_retry_after(
    tmp_path: Path, clock: SettableClock, closing: list[Adapters]
) -> None:
    client, adapters = limited_client(tmp_path, clock, rate_limit_per_address="3/minute")
    closing.append(adapters)
    # Invalid submissions count too: each one costs the gateway work.
    assert client.post("/api/jobs", json=api_body(count=0)).status_code == 422
    assert client.post("/api/jobs", json=api_body("a@example.com")).status_code == 201
    assert client.post("/api/jobs", json=api_body("b@example.com")).status_code == 201
    refused = client.post("/api/jobs", json=api_body("c@example.com"))
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert set(refused.get_json()["errors"]) == {"body"}
    assert "3 per minute" in refused.get_json()["errors"]["body"]
    assert len(adapters.store.jobs_in(JobStatus.SCHEDULED)) == 2

    other = client.post("/api/jobs", json=api_body("c@example.com"), environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 201
    clock.advance(seconds=61)
    assert client.post("/api/jobs", json=api_body("c@example.com")).status_code == 201
    text = client.get("/metrics").get_data(as_text=True)
    assert metric(text, "imgjob_gateway_rate_limited_total", '{channel="api",limit="address"}') == 1


def test_the_api_refuses_too_many_jobs_for_one_email(
    tmp_path: Path, clock: SettableClock, closing: list[Adapters]
) -> None:
    client, adapters = limited_client(tmp_path, clock, rate_limit_per_email="2/hour")
    closing.append(adapters)
    assert client.post("/api/jobs", json=api_body("Same@Example.com")).status_code == 201
    assert client.post("/api/jobs", json=api_body("same@example.com")).status_code == 201
    refused = client.post("/api/jobs", json=api_body("SAME@example.com"))
    assert refused.status_code == 429
    assert set(refused.get_json()["errors"]) == {"email"}
    # The clock is at 09:30: the hour's window ends at 10:00.
    assert int(refused.headers["Retry-After"]) == 1800
    assert "Please try again in 30 minutes." in refused.get_json()["errors"]["email"]
    assert client.post("/api/jobs", json=api_body("other@example.com")).status_code == 201
    # Invalid submissions for the address do not use its allowance.
    assert client.post("/api/jobs", json=api_body("same@example.com", count=0)).status_code == 422
    clock.advance(minutes=29, seconds=59)
    refused = client.post("/api/jobs", json=api_body("same@example.com"))
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "1"
    clock.advance(seconds=1)
    assert client.post("/api/jobs", json=api_body("same@example.com")).status_code == 201


def test_the_form_says_so_on_its_page_and_keeps_what_was_typed(
    tmp_path: Path, clock: SettableClock, closing: list[Adapters]
) -> None:
    client, adapters = limited_client(tmp_path, clock, rate_limit_per_address="1/minute", rate_limit_per_email="off")
    closing.append(adapters)
    form = {"query": "harbour cranes", "email": "someone@example.com", "count": "5", "now": "1"}
    assert post_form(client, "/jobs", form).status_code == 303
    refused = post_form(client, "/jobs", form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "60"
    assert "text/html" in refused.content_type
    assert "Too many submissions from your network address" in html
    assert "Please try again in 60 seconds." in html
    assert 'value="harbour cranes"' in html and 'value="someone@example.com"' in html
    assert len(adapters.store.jobs_in(JobStatus.SCHEDULED)) == 1


def test_the_form_shows_the_email_limit_next_to_the_email_field(
    tmp_path: Path, clock: SettableClock, closing: list[Adapters]
) -> None:
    client, adapters = limited_client(tmp_path, clock, rate_limit_per_email="1/hour")
    closing.append(adapters)
    form = {"query": "harbour cranes", "email": "someone@example.com", "count": "5", "now": "1"}
    assert post_form(client, "/jobs", form).status_code == 303
    refused = post_form(client, "/jobs", form)
    assert refused.status_code == 429
    assert 'id="email-error" aria-live="polite">Too many jobs for this email address' in refused.get_data(as_text=True)


def test_behind_a_trusted_proxy_clients_are_told_apart_by_x_forwarded_for(
    tmp_path: Path, clock: SettableClock, closing: list[Adapters]
) -> None:
    adapters = embedded_adapters(tmp_path, clock, rate_limit_per_address="1/minute", proxy_hops=1)
    closing.append(adapters)
    client = create_app(adapters).test_client()
    proxy = {"REMOTE_ADDR": "10.0.0.1"}

    def post(forwarded_for: str) -> int:
        headers = {"X-Forwarded-For": forwarded_for}
        return client.post("/api/jobs", json=api_body(), headers=headers, environ_base=proxy).status_code

    assert post("203.0.113.7") == 201
    assert post("203.0.113.8") == 201
    assert post("203.0.113.7") == 429
    # A client cannot pose as another by prepending its own X-Forwarded-For: only the proxy's hop counts.
    assert post("198.51.100.1, 203.0.113.7") == 429
