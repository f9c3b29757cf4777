from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.submission import MAX_COUNT, SubmissionErrors, validate_api, validate_form

NOW = datetime(2030, 6, 1, 10, 0, tzinfo=UTC)


def form(**overrides: str) -> dict[str, str]:
    values = {
        "query": "red bicycles",
        "email": "person@example.com",
        "date": "2030-06-01",
        "time": "14:30",
        "count": "20",
        "timezone": "Europe/Paris",
    }
    values.update(overrides)
    return values


def errors_of(call, *args) -> dict[str, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(SubmissionErrors) as caught:
        call(*args)
    return caught.value.errors


def test_form_converts_the_local_time_to_utc() -> None:
    submission = validate_form(form(), NOW)
    assert submission.scheduled_at == datetime(2030, 6, 1, 12, 30, tzinfo=UTC)  # Paris is UTC+2 in June
    assert submission.timezone == "Europe/Paris"
    assert submission.count == 20


def test_form_requires_every_field() -> None:
    errors = errors_of(validate_form, {"timezone": "UTC"}, NOW)
    assert set(errors) == {"query", "email", "count", "date", "time"}


@pytest.mark.parametrize("email", ["nobody", "a@b", "a b@example.com", "x@example..com@", "<a@b.com>"])
def test_form_rejects_malformed_email(email: str) -> None:
    assert "email" in errors_of(validate_form, form(email=email), NOW)


@pytest.mark.parametrize("count", ["0", "501", "-3", "ten", "2.5"])
def test_form_rejects_counts_outside_1_to_500(count: str) -> None:
    assert "count" in errors_of(validate_form, form(count=count), NOW)


def test_count_limits_are_inclusive() -> None:
    assert validate_form(form(count="1"), NOW).count == 1
    assert validate_form(form(count=str(MAX_COUNT)), NOW).count == MAX_COUNT


def test_past_time_is_judged_in_the_persons_time_zone() -> None:
    # 11:30 in Paris is 09:30 UTC: half an hour before NOW, although 11:30 UTC would be in the future.
    assert "time" in errors_of(validate_form, form(time="11:30"), NOW)
    assert validate_form(form(time="11:30", timezone="UTC"), NOW).scheduled_at.hour == 11


def test_now_option_ignores_date_and_time() -> None:
    submission = validate_form(form(date="", time="", now="on"), NOW)
    assert submission.scheduled_at == NOW


def test_unknown_time_zone_and_far_future_are_rejected() -> None:
    assert "timezone" in errors_of(validate_form, form(timezone="Mars/Olympus"), NOW)
    assert "time" in errors_of(validate_form, form(date="2032-06-01"), NOW)


def test_overlong_query_is_rejected() -> None:
    assert "query" in errors_of(validate_form, form(query="x" * 201), NOW)


def test_api_accepts_offset_times_and_omitted_time() -> None:
    raw = {"query": "cats", "email": "a@example.com", "count": 3, "scheduled_at": "2030-06-01T12:00:00+02:00"}
    assert validate_api(raw, NOW).scheduled_at == datetime(2030, 6, 1, 10, 0, tzinfo=UTC)
    del raw["scheduled_at"]
    assert validate_api(raw, NOW).scheduled_at == NOW


def test_api_rejects_naive_and_past_times_unknown_fields_and_non_objects() -> None:
    base = {"query": "cats", "email": "a@example.com", "count": 3}
    assert "scheduled_at" in errors_of(validate_api, base | {"scheduled_at": "2030-06-01T12:00:00"}, NOW)
    past = (NOW - timedelta(hours=1)).isoformat()
    assert "scheduled_at" in errors_of(validate_api, base | {"scheduled_at": past}, NOW)
    assert "colour" in errors_of(validate_api, base | {"colour": "red"}, NOW)
    assert "count" in errors_of(validate_api, base | {"count": "3"}, NOW)
    assert "count" in errors_of(validate_api, base | {"count": True}, NOW)
    assert "body" in errors_of(validate_api, ["not", "an", "object"], NOW)


def test_the_calendars_last_day_behind_utc_is_an_error_not_a_crash() -> None:
    assert "date" in errors_of(validate_form, form(date="9999-12-31", time="23:59", timezone="America/New_York"), NOW)
    assert "scheduled_at" in errors_of(
        validate_api,
        {"query": "c", "email": "a@example.com", "count": 1, "scheduled_at": "0001-01-01T00:00:00+05:00"},
        NOW,
    )


@pytest.mark.parametrize("field", ["query", "email", "timezone", "scheduled_at"])
@pytest.mark.parametrize("value", [["x"], {"a": 1}, 42])
def test_api_fields_that_should_be_text_must_be_text(field: str, value: object) -> None:
    raw = {"query": "cats", "email": "a@example.com", "count": 3} | {field: value}
    assert field in errors_of(validate_api, raw, NOW)


@pytest.mark.parametrize(
    "query",
    [
        "red\u2028fox",  # LINE SEPARATOR
        "red\u2029fox",  # PARAGRAPH SEPARATOR
        "red\u0085fox",  # NEXT LINE
        "red\x00fox",
        "red\tfox",
        "red\nfox",
        "\u202eevil",  # RIGHT-TO-LEFT OVERRIDE
        "red\u200bfox",  # ZERO WIDTH SPACE
        "red\ud800fox",  # a lone surrogate
        "red\ue000fox",  # private use
    ],
)
def test_query_with_control_or_separator_characters_is_rejected(query: str) -> None:
    message = "The search query cannot contain control or line-separator characters."
    assert errors_of(validate_form, form(query=query), NOW)["query"] == message
    raw = {"query": query, "email": "a@example.com", "count": 3}
    assert errors_of(validate_api, raw, NOW) == {"query": message}


@pytest.mark.parametrize(
    "query",
    [
        "猫 🐱 café",
        "red  bicycles",
        "Ünïcödé ñ",
        "кошки",
        "القطط",
        "ねこ\u3000かわいい",
        "👨\u200d👩\u200d👧",
        "می\u200cخواهم",  # noqa: RUF001
    ],
)
def test_spaces_non_latin_letters_and_emoji_are_accepted(query: str) -> None:
    assert validate_form(form(query=query), NOW).query == query
    assert validate_api({"query": query, "email": "a@example.com", "count": 3}, NOW).query == query
