"""Rate limits on submission, per client address and per email address, for the form and the API."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from services.gateway import ratelimit
from services.gateway.app import create_app
from services.gateway.ratelimit import Rate, SlidingWindow, wait_phrase
from shared.config import Settings
from shared.domain.model import JobStatus
from shared.ports import Adapters
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


def test_the_window_slides(clock: SettableClock) -> None:
    window = SlidingWindow(Rate(2, 60), lambda: clock().timestamp())
    assert window.hit("a") is None
    clock.advance(seconds=30)
    assert window.hit("a") is None
    assert window.hit("a") == 30.0  # the first hit leaves the window in 30 s
    assert window.hit("b") is None  # other keys have their own window
    clock.advance(seconds=30)
    assert window.hit("a") is None
    assert window.hit("a") is not None
    clock.advance(seconds=3600)
    window.hit("c")
    assert window.hit("a") is None


def test_stale_keys_are_forgotten_so_memory_stays_bounded(
    clock: SettableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ratelimit, "SWEEP_ABOVE_KEYS", 2)
    window = SlidingWindow(Rate(1, 60), lambda: clock().timestamp())
    for key in "abc":
        window.hit(key)
    assert len(window) == 3
    clock.advance(seconds=61)
    assert window.hit("d") is None
    assert len(window) == 1


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
    assert int(refused.headers["Retry-After"]) == 3600
    assert client.post("/api/jobs", json=api_body("other@example.com")).status_code == 201
    # Invalid submissions for the address do not use its allowance.
    assert client.post("/api/jobs", json=api_body("same@example.com", count=0)).status_code == 422
    clock.advance(minutes=30)
    assert client.post("/api/jobs", json=api_body("same@example.com")).status_code == 429
    clock.advance(minutes=31)
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
