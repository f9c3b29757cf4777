"""When a recurring search runs: its repeat (a word or a cron expression) read in its time zone.

The person says "every day / every week / every month" at the time of the first run, or gives a
five-field cron expression; either way the series keeps one cron expression and its IANA zone, and
every next run is computed from them by cronsim, which follows Debian cron across daylight-saving
changes: a local time that does not exist that day (02:30 on a spring-forward night) runs at the next
valid minute (03:00), and one that exists twice (02:30 on a fall-back night) runs once, the first time.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from cronsim import CronSim, CronSimError

NEVER = "never"
DAY, WEEK, MONTH = "day", "week", "month"
# What the API and the form accept for each repeat word, as people write it.
WORDS = {
    NEVER: NEVER,
    "": NEVER,
    DAY: DAY,
    "daily": DAY,
    "every day": DAY,
    WEEK: WEEK,
    "weekly": WEEK,
    "every week": WEEK,
    MONTH: MONTH,
    "monthly": MONTH,
    "every month": MONTH,
}
DEFAULT_UNTIL = timedelta(days=90)
MAX_UNTIL = timedelta(days=365)
MAX_CRON_LENGTH = 100
# Ids of occurrences are derived from the series and the run's time, so that every replica, and every
# redelivery, names the same next run the same way (see occurrence_id).
_OCCURRENCE_NAMESPACE = uuid.UUID("5b0c1b8e-6d2f-4d55-9c59-0a7f3c1e9a16")


class RecurrenceError(ValueError):
    """A repeat or until the series cannot run on; `field` names which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Recurrence:
    """A valid repeat: what the person chose, the cron expression it means, and its bounds (UTC)."""

    repeat: str  # "day", "week", "month" or the cron expression as given
    cron: str
    first_at: datetime  # the first run
    until: date  # the last day a run may start, in the zone
    until_at: datetime  # the end of that day (exclusive), UTC


def cron_for_word(word: str, first_local: datetime) -> str:
    """The cron expression of "every day / week / month" at the first run's local time. A monthly
    series that starts on the 29th to 31st runs on the last day of each month (cron's `L`), so no
    month is skipped."""
    at = f"{first_local.minute} {first_local.hour}"
    if word == DAY:
        return f"{at} * * *"
    if word == WEEK:
        return f"{at} * * {(first_local.weekday() + 1) % 7}"  # cron counts from Sunday = 0
    return f"{at} {first_local.day if first_local.day <= 28 else 'L'} * *"


def check_cron(expression: str) -> str:
    """The expression, normalised to single spaces, if cron can run on it; RecurrenceError otherwise."""
    fields = expression.split()
    if len(expression) > MAX_CRON_LENGTH or len(fields) != 5:
        raise RecurrenceError("repeat", "Use never, day, week, month, or a five-field cron expression like 0 9 * * 1.")
    normalised = " ".join(fields)
    try:
        CronSim(normalised, datetime(2000, 1, 1, tzinfo=UTC))
    except (CronSimError, ValueError) as exc:
        raise RecurrenceError("repeat", f"Not a valid cron expression: {exc}.") from None
    return normalised


def next_run(cron: str, zone: str, after: datetime) -> datetime | None:
    """The first run strictly after `after`, in UTC (whole minutes); None if the expression never runs."""
    local = after.astimezone(ZoneInfo(zone))
    try:
        return next(CronSim(cron, local)).astimezone(UTC)
    except (CronSimError, StopIteration):
        return None


def first_run(cron: str, zone: str, at_or_after: datetime) -> datetime | None:
    """The first run at or after `at_or_after` (cron is exclusive of its start, hence the step back)."""
    return next_run(cron, zone, at_or_after - timedelta(microseconds=1))


def end_of_day(day: date, zone: str) -> datetime:
    """The start of the day after `day` in the zone, in UTC: runs start before it."""
    return datetime.combine(day + timedelta(days=1), time(), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def parse_until(value: object, first_at: datetime, zone: str, now: datetime) -> date:
    """`until` as a date (YYYY-MM-DD) in the zone: by default 90 days after the first run, at most a year
    ahead, and not before the first run's day."""
    first_day = first_at.astimezone(ZoneInfo(zone)).date()
    if value is None or value == "":
        return first_day + DEFAULT_UNTIL
    try:
        day = date.fromisoformat(value) if isinstance(value, str) and len(value.strip()) == 10 else None
    except ValueError:
        day = None
    if day is None:
        raise RecurrenceError("until", "Enter the last day as YYYY-MM-DD.")
    if day < first_day:
        raise RecurrenceError("until", "Choose a last day on or after the first run.")
    if day > now.astimezone(ZoneInfo(zone)).date() + MAX_UNTIL:
        raise RecurrenceError("until", f"Choose a last day within {MAX_UNTIL.days} days.")
    return day


def parse_recurrence(repeat: object, until: object, when: datetime, zone: str, now: datetime) -> Recurrence | None:
    """None for a one-off job; the series' recurrence otherwise. A word repeats the first run's local
    time; a cron expression's first run is its first time at or after `when`."""
    if repeat is None:
        repeat = NEVER
    if not isinstance(repeat, str):
        raise RecurrenceError("repeat", "repeat must be text: never, day, week, month or a cron expression.")
    text = " ".join(repeat.split())
    word = WORDS.get(text.lower())
    if word == NEVER:
        if until not in (None, ""):
            raise RecurrenceError("until", "Only a repeating search has a last day.")
        return None
    if word is not None:
        cron, first = cron_for_word(word, when.astimezone(ZoneInfo(zone))), when
    else:
        cron = check_cron(text)
        found = first_run(cron, zone, when)
        if found is None:
            raise RecurrenceError("repeat", "This cron expression never runs.")
        first = found
    last_day = parse_until(until, first, zone, now)
    if first >= end_of_day(last_day, zone):
        raise RecurrenceError("until", "The first run would come after this last day.")
    return Recurrence(word or cron, cron, first, last_day, end_of_day(last_day, zone))


def occurrence_id(series_id: str, scheduled_at: datetime) -> str:
    """The job id of the series' run at `scheduled_at`: the same for every replica that computes it."""
    millis = int(scheduled_at.astimezone(UTC).timestamp() * 1000)
    return uuid.uuid5(_OCCURRENCE_NAMESPACE, f"{series_id}:{millis}").hex
