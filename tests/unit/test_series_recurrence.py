"""When a series runs: repeat words and cron expressions in the job's zone, across daylight-saving changes,
and how a submission's `repeat` and `until` are validated."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from shared.domain.recurrence import next_run, occurrence_id, parse_recurrence
from shared.domain.series import Series
from shared.domain.submission import SubmissionErrors, validate_api, validate_form

BERLIN = ZoneInfo("Europe/Berlin")
NOW = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)


def runs(cron: str, zone: str, after: datetime, n: int) -> list[datetime]:
    found, at = [], after
    for _ in range(n):
        following = next_run(cron, zone, at)
        assert following is not None
        found.append(following)
        at = following
    return found


def local(moments: list[datetime], zone: ZoneInfo = BERLIN) -> list[str]:
    return [m.astimezone(zone).strftime("%m-%d %H:%M %Z") for m in moments]


def test_a_daily_9am_berlin_series_runs_at_9_local_on_both_sides_of_spring_forward() -> None:
    # 2030-03-31 is the last Sunday of March: clocks go from 02:00 CET to 03:00 CEST.
    first = datetime(2030, 3, 29, 9, 0, tzinfo=BERLIN)
    rec = parse_recurrence("day", None, first.astimezone(UTC), "Europe/Berlin", NOW)
    assert rec is not None and rec.cron == "0 9 * * *"
    found = runs(rec.cron, "Europe/Berlin", rec.first_at, 4)
    assert local(found) == ["03-30 09:00 CET", "03-31 09:00 CEST", "04-01 09:00 CEST", "04-02 09:00 CEST"]
    # In UTC the run moves by an hour, as a person's 09:00 does.
    assert [m.hour for m in found] == [8, 7, 7, 7]


def test_a_daily_9am_berlin_series_runs_at_9_local_on_both_sides_of_fall_back() -> None:
    found = runs("0 9 * * *", "Europe/Berlin", datetime(2030, 10, 25, 12, 0, tzinfo=UTC), 3)
    assert local(found) == ["10-26 09:00 CEST", "10-27 09:00 CET", "10-28 09:00 CET"]
    assert [m.hour for m in found] == [7, 8, 8]


def test_a_local_time_that_does_not_exist_that_day_runs_at_the_next_valid_minute() -> None:
    # 02:30 does not exist in Berlin on 2030-03-31 (02:00 jumps to 03:00).
    found = runs("30 2 * * *", "Europe/Berlin", datetime(2030, 3, 30, 12, 0, tzinfo=UTC), 3)
    assert local(found) == ["03-31 03:00 CEST", "04-01 02:30 CEST", "04-02 02:30 CEST"]
    assert found[0] == datetime(2030, 3, 31, 1, 0, tzinfo=UTC)


def test_a_local_time_that_exists_twice_runs_once() -> None:
    # 02:30 happens twice in Berlin on 2030-10-27 (03:00 CEST falls back to 02:00 CET).
    found = runs("30 2 * * *", "Europe/Berlin", datetime(2030, 10, 26, 12, 0, tzinfo=UTC), 3)
    assert local(found) == ["10-27 02:30 CEST", "10-28 02:30 CET", "10-29 02:30 CET"]
    on_the_day = [m for m in found if m.astimezone(BERLIN).date() == date(2030, 10, 27)]
    assert len(on_the_day) == 1


def test_a_series_run_ids_follow_from_the_series_and_the_time() -> None:
    at = datetime(2030, 3, 2, 9, 0, tzinfo=UTC)
    assert occurrence_id("s1", at) == occurrence_id("s1", at.astimezone(BERLIN))
    assert occurrence_id("s1", at) != occurrence_id("s2", at)
    assert occurrence_id("s1", at) != occurrence_id("s1", at + timedelta(minutes=1))
    assert len(occurrence_id("s1", at)) == 32 and int(occurrence_id("s1", at), 16) >= 0


@pytest.mark.parametrize(
    ("repeat", "first", "cron"),
    [
        ("week", datetime(2030, 3, 6, 18, 45, tzinfo=BERLIN), "45 18 * * 3"),  # a Wednesday
        ("weekly", datetime(2030, 3, 10, 7, 5, tzinfo=BERLIN), "5 7 * * 0"),  # a Sunday
        ("every month", datetime(2030, 3, 14, 9, 0, tzinfo=BERLIN), "0 9 14 * *"),
        # The 31st does not come every month: such a series runs on each month's last day.
        ("monthly", datetime(2030, 3, 31, 9, 0, tzinfo=BERLIN), "0 9 L * *"),
        ("Every Day", datetime(2030, 3, 2, 0, 0, tzinfo=BERLIN), "0 0 * * *"),
    ],
)
def test_repeat_words_repeat_the_first_runs_local_time(repeat: str, first: datetime, cron: str) -> None:
    rec = parse_recurrence(repeat, None, first.astimezone(UTC), "Europe/Berlin", NOW)
    assert rec is not None and rec.cron == cron and rec.first_at == first.astimezone(UTC)


def test_a_monthly_series_from_the_31st_runs_on_every_months_last_day() -> None:
    found = runs("0 9 L * *", "Europe/Berlin", datetime(2030, 3, 31, 9, 0, tzinfo=BERLIN), 3)
    assert local(found) == ["04-30 09:00 CEST", "05-31 09:00 CEST", "06-30 09:00 CEST"]


def test_a_cron_series_first_runs_at_its_first_time_and_stops_before_its_last_day_ends() -> None:
    rec = parse_recurrence("0 9 * * 1-5", "2030-03-08", NOW, "Europe/Berlin", NOW)
    assert rec is not None
    # NOW is Friday 1 March 13:00 Berlin: the first weekday 09:00 after it is Monday the 4th.
    assert rec.first_at == datetime(2030, 3, 4, 9, 0, tzinfo=BERLIN).astimezone(UTC)
    assert rec.until_at == datetime(2030, 3, 9, 0, 0, tzinfo=BERLIN).astimezone(UTC)
    series = Series("s", "q", "a@example.com", 1, "Europe/Berlin", rec.repeat, rec.cron, rec.first_at,
                    rec.until_at, NOW)  # fmt: skip
    days, at = [], rec.first_at
    while (following := series.next_after(at)) is not None:
        days.append(following.astimezone(BERLIN).day)
        at = following
    assert days == [5, 6, 7, 8]  # Tuesday to Friday the 8th, the last day


def test_the_default_last_day_is_90_days_after_the_first_run() -> None:
    rec = parse_recurrence("day", None, NOW, "UTC", NOW)
    assert rec is not None and rec.until == date(2030, 3, 1) + timedelta(days=90)
    assert parse_recurrence("never", None, NOW, "UTC", NOW) is None
    assert parse_recurrence(None, None, NOW, "UTC", NOW) is None


def api(**fields: object) -> dict[str, object]:
    return {"query": "cats", "email": "a@example.com", "count": 5, **fields}


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"repeat": "fortnightly"}, "repeat"),
        ({"repeat": "61 * * * *"}, "repeat"),
        ({"repeat": "0 9 * *"}, "repeat"),
        ({"repeat": "0 0 9 * * *"}, "repeat"),  # six fields (seconds): not a five-field expression
        ({"repeat": "0 0 30 2 *"}, "repeat"),  # never runs
        ({"repeat": 7}, "repeat"),
        ({"repeat": "day", "until": "2031-03-02"}, "until"),  # more than a year ahead
        ({"repeat": "day", "until": "2030-02-28"}, "until"),  # before the first run
        ({"repeat": "day", "until": "next week"}, "until"),
        ({"repeat": "day", "until": 20300401}, "until"),
        ({"repeat": "never", "until": "2030-04-01"}, "until"),
        ({"until": "2030-04-01"}, "until"),
    ],
)
def test_an_invalid_repeat_or_until_is_refused_naming_the_field(fields: dict[str, object], bad: str) -> None:
    with pytest.raises(SubmissionErrors) as caught:
        validate_api(api(**fields), NOW)
    assert set(caught.value.errors) == {bad}, caught.value.errors


def test_the_api_accepts_words_and_cron_expressions_in_the_jobs_zone() -> None:
    when = "2030-03-02T09:00:00+01:00"
    daily = validate_api(api(repeat="daily", until="2030-06-01", scheduled_at=when, timezone="Europe/Berlin"), NOW)
    assert daily.recurrence is not None and daily.recurrence.cron == "0 9 * * *"
    # Read in the job's zone (UTC unless given): the same instant is 08:00 there.
    in_utc = validate_api(api(repeat="daily", scheduled_at=when), NOW)
    assert in_utc.recurrence is not None and in_utc.recurrence.cron == "0 8 * * *"
    assert daily.scheduled_at == datetime(2030, 3, 2, 8, 0, tzinfo=UTC)
    cron = validate_api(api(repeat=" 30  8 * * 1 ", timezone="America/New_York"), NOW)
    assert cron.recurrence is not None and cron.recurrence.cron == "30 8 * * 1"
    # The first run is the expression's first time: Monday 4 March 08:30 in New York.
    assert cron.scheduled_at == datetime(2030, 3, 4, 13, 30, tzinfo=UTC)
    assert validate_api(api(repeat="never"), NOW).recurrence is None


def test_the_form_offers_every_day_week_and_month() -> None:
    raw = {"query": "cats", "email": "a@example.com", "count": "5", "date": "2030-03-02", "time": "09:00"}
    weekly = validate_form({**raw, "timezone": "Europe/Berlin", "repeat": "week", "until": ""}, NOW)
    assert weekly.recurrence is not None and weekly.recurrence.cron == "0 9 * * 6"
    assert validate_form({**raw, "repeat": "never", "until": ""}, NOW).recurrence is None
    with pytest.raises(SubmissionErrors) as caught:
        validate_form({**raw, "repeat": "month", "until": "2029-01-01"}, NOW)
    assert set(caught.value.errors) == {"until"}
