"""The packager's metrics: each download's outcome and bytes, each job's time to its zip.

A failed image's reason is free text for the manifest ("HTTP 404", "too large: over 25 MB"); as a
label it is folded into a few fixed words, so the metric has a bounded number of series.
"""

from __future__ import annotations

from services.packager.download import FailedImage, FilteredImage, NotNeeded, Outcome
from shared import metrics

# Reason prefix -> label, the first match wins.
_REASONS = (
    ("HTTP ", "http_error"),
    ("timed out", "timeout"),
    ("too large", "too_large"),
    ("job byte budget", "budget"),
    ("not an image", "not_an_image"),
    ("too many pixels", "too_many_pixels"),
    ("refused", "refused"),
    ("host not found", "host_not_found"),
    ("connection", "connection_failed"),
    ("unsupported URL", "unsupported_url"),
    ("too many redirects", "too_many_redirects"),
    ("empty response", "empty"),
)


def outcome_label(outcome: Outcome) -> str:
    """ "ok" for a stored image, else the fixed word for its reason ("other" if none fits)."""
    if not isinstance(outcome, FailedImage):
        return "ok"
    if isinstance(outcome, FilteredImage):
        return "filtered"  # its reason names the job's own numbers: never a label
    if isinstance(outcome, NotNeeded):
        return "not_needed"
    return next((label for prefix, label in _REASONS if outcome.reason.startswith(prefix)), "other")


def count_download(outcome: Outcome) -> None:
    metrics.packager_downloads.labels(outcome=outcome_label(outcome)).inc()
    if not isinstance(outcome, FailedImage):
        metrics.packager_bytes.inc(outcome.size)


def job_packaged(seconds: float) -> None:
    metrics.packager_job_duration.observe(seconds)
