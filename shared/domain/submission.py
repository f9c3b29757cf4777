"""Validation of a job submission, shared by the form and the JSON API."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.domain.filters import Filters, parse_filters
from shared.domain.recurrence import Recurrence, RecurrenceError, parse_recurrence

MAX_COUNT = 500
MAX_QUERY_LENGTH = 200
MAX_EMAIL_LENGTH = 254
# How far ahead a job may be scheduled; longer waits belong in a calendar, not a queue.
MAX_AHEAD = timedelta(days=365)
# A submission for "now" typed a few seconds ago is still now, not the past.
PAST_TOLERANCE = timedelta(seconds=60)
# Control and format characters (tabs, line feeds, NEL, bidi overrides, zero-width joiners), line and paragraph
# separators, lone surrogates, private-use and unassigned code points: invisible or line-breaking in a query,
# and trouble in an email subject.
UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})
# Format characters that are part of ordinary text: the joiners that build emoji sequences (👨‍👩‍👧) and
# shape Persian or Indic words. Emails still drop them from subjects.
QUERY_ALLOWED_FORMAT = frozenset({"\u200c", "\u200d"})
MAX_WEBHOOK_URL_LENGTH = 2000
EMAIL_RE = re.compile(r"^[^@\s<>\"',;]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class Submission:
    query: str
    email: str
    count: int
    scheduled_at: datetime  # UTC
    timezone: str
    filters: Filters = field(default_factory=Filters)
    webhook_url: str | None = None
    # A recurring search (repeat and until); None for a one-off job.
    recurrence: Recurrence | None = None


class SubmissionErrors(ValueError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def _zone(name: str, errors: dict[str, str]) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        errors["timezone"] = "Unknown time zone."
        return ZoneInfo("UTC")


def _text(raw: dict[str, Any], name: str, errors: dict[str, str]) -> str | None:
    """The field as stripped text, or None (with an error) when it is not text at all."""
    value = raw.get(name)
    if value is None or isinstance(value, str):
        return (value or "").strip()
    errors[name] = f"{name} must be text."
    return None


def _query_problem(query: str) -> str | None:
    if not query:
        return "Enter what to search for."
    if len(query) > MAX_QUERY_LENGTH:
        return f"Keep the search under {MAX_QUERY_LENGTH} characters."
    if any(unicodedata.category(c) in UNSAFE_CATEGORIES and c not in QUERY_ALLOWED_FORMAT for c in query):
        return "The search query cannot contain control or line-separator characters."
    return None


def _email_problem(email: str) -> str | None:
    if not email:
        return "Enter the email address to send the link to."
    if len(email) > MAX_EMAIL_LENGTH or not EMAIL_RE.match(email):
        return "Enter a valid email address, like name@example.com."
    return None


def _clean_common(raw: dict[str, Any], errors: dict[str, str]) -> tuple[str, str, int]:
    query, email = _text(raw, "query", errors), _text(raw, "email", errors)
    for name, value, check in (("query", query, _query_problem), ("email", email, _email_problem)):
        problem = None if value is None else check(value)
        if problem:
            errors[name] = problem

    count = 0
    value = raw.get("count")
    if isinstance(value, bool) or value is None or value == "":
        errors["count"] = f"Enter how many images, from 1 to {MAX_COUNT}."
    else:
        try:
            count = int(str(value).strip())
        except ValueError:
            errors["count"] = f"Enter a whole number from 1 to {MAX_COUNT}."
        else:
            if not 1 <= count <= MAX_COUNT:
                errors["count"] = f"Choose from 1 to {MAX_COUNT} images."
    return query or "", email or "", count


def _check_when(when: datetime, now: datetime, field_name: str, errors: dict[str, str]) -> None:
    if when < now - PAST_TOLERANCE:
        errors[field_name] = "Choose a time in the future."
    elif when > now + MAX_AHEAD:
        errors[field_name] = f"Choose a time within {MAX_AHEAD.days} days."


def validate_form(raw: dict[str, Any], now: datetime) -> Submission:
    """The HTML form: date and time typed in the person's time zone, or "now"."""
    errors: dict[str, str] = {}
    query, email, count = _clean_common(raw, errors)
    zone_name = str(raw.get("timezone") or "UTC").strip()
    zone = _zone(zone_name, errors)
    when = now
    if not raw.get("now"):
        day_text, time_text = str(raw.get("date") or "").strip(), str(raw.get("time") or "").strip()
        try:
            day = date.fromisoformat(day_text) if day_text else None
        except ValueError:
            day = None
            errors["date"] = "Enter the date as YYYY-MM-DD."
        if not day_text:
            errors["date"] = "Choose a date."
        try:
            at = time.fromisoformat(time_text) if time_text else None
        except ValueError:
            at = None
            errors["time"] = "Enter the time as HH:MM."
        if not time_text:
            errors["time"] = "Choose a time."
        if day and at:
            try:
                when = datetime.combine(day, at, tzinfo=zone).astimezone(UTC)
            except OverflowError:  # the calendar's last day in a zone behind UTC
                errors["date"] = f"Choose a date within {MAX_AHEAD.days} days."
            else:
                _check_when(when, now, "time", errors)
    # The "Advanced" section's fields are named `filters.<name>`; an unset one is sent empty.
    chosen = {key.removeprefix("filters."): value for key, value in raw.items() if key.startswith("filters.")}
    filters = parse_filters(chosen, errors)
    timing = {"date", "time", "timezone"} & errors.keys()
    recurrence = None if timing else _recurrence(raw, max(when, now), zone.key, now, errors)
    if errors:
        raise SubmissionErrors(errors)
    first = recurrence.first_at if recurrence else max(when, now)
    return Submission(query, email, count, first.astimezone(UTC), zone.key, filters, recurrence=recurrence)


def _parse_instant(value: Any, errors: dict[str, str]) -> datetime | None:
    """An ISO 8601 time with a UTC offset, as UTC; None with an error otherwise."""
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None:
        errors["scheduled_at"] = "Use ISO 8601 with an offset, like 2030-01-31T09:30:00+01:00."
        return None
    if when.tzinfo is None:
        errors["scheduled_at"] = "Include a UTC offset, like +01:00 or Z."
        return None
    try:
        return when.astimezone(UTC)
    except OverflowError:  # the calendar's first or last day with an offset
        errors["scheduled_at"] = f"Choose a time within {MAX_AHEAD.days} days."
        return None


API_FIELDS = frozenset(
    {"query", "email", "count", "scheduled_at", "timezone", "filters", "webhook_url", "repeat", "until"}
)


def _recurrence(
    raw: dict[str, Any], when: datetime, zone: str, now: datetime, errors: dict[str, str]
) -> Recurrence | None:
    """The series a submission asks for (shared.domain.recurrence), or None; an error names its field."""
    try:
        return parse_recurrence(raw.get("repeat"), raw.get("until"), when, zone, now)
    except RecurrenceError as exc:
        errors[exc.field] = exc.message
        return None


def _webhook_url(value: Any, errors: dict[str, str]) -> str | None:
    """An absolute http(s) URL with a host and no credentials. Where it points is checked on every
    delivery (the downloader's private-address guard), since a name can resolve elsewhere later."""
    if value is None or value == "":
        return None
    problem = None
    if not isinstance(value, str) or len(value) > MAX_WEBHOOK_URL_LENGTH:
        problem = f"webhook_url must be an http or https URL of at most {MAX_WEBHOOK_URL_LENGTH} characters."
    else:
        try:
            parts = urlsplit(value.strip())
            host = parts.hostname
        except ValueError:
            parts, host = None, None
        if parts is None or parts.scheme not in ("http", "https") or not host:
            problem = "webhook_url must be an absolute http or https URL, like https://example.com/hooks/imgjob."
        elif parts.username is not None or parts.password is not None:
            problem = "webhook_url cannot carry a user name or password; verify deliveries by their signature."
        elif any(unicodedata.category(c) in UNSAFE_CATEGORIES or c.isspace() for c in value.strip()):
            problem = "webhook_url cannot contain spaces or control characters."
    if problem:
        errors["webhook_url"] = problem
        return None
    return str(value).strip()


def validate_api(raw: Any, now: datetime) -> Submission:
    """The JSON API: scheduled_at is ISO 8601 with an offset, or omitted for now."""
    if not isinstance(raw, dict):
        raise SubmissionErrors({"body": "Send a JSON object."})
    errors: dict[str, str] = {}
    for unknown in sorted(set(raw) - API_FIELDS):
        errors[str(unknown)[:50]] = "Unknown field."
    if isinstance(raw.get("count"), float | str):
        errors["count"] = f"count must be an integer from 1 to {MAX_COUNT}."
    query, email, count = _clean_common(raw, errors)
    zone = _zone(_text(raw, "timezone", errors) or "UTC", errors)
    when = now
    if raw.get("scheduled_at") is not None:
        parsed = _parse_instant(raw["scheduled_at"], errors)
        if parsed is not None:
            when = parsed
            _check_when(when, now, "scheduled_at", errors)
    filters = parse_filters(raw.get("filters"), errors)
    webhook_url = _webhook_url(raw.get("webhook_url"), errors)
    recurrence = None if "scheduled_at" in errors else _recurrence(raw, max(when, now), zone.key, now, errors)
    if errors:
        raise SubmissionErrors(errors)
    first = recurrence.first_at if recurrence else max(when, now)
    return Submission(query, email, count, first.astimezone(UTC), zone.key, filters, webhook_url, recurrence)
