"""The workers' Prometheus metrics, one set per process, served on the ops port's /metrics.

Module-level like any Prometheus instrumentation: a process runs each worker at most once, and
several workers in one process (`imgjob up`) share the registry, told apart by the `service` label.
Tests read differences, never absolute values. The gateway keeps its own per-app counters
(`services/gateway/state.py`), whose names are part of the operator guide.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, ProcessCollector

REGISTRY = CollectorRegistry(auto_describe=True)
# process_resident_memory_bytes and friends: the packager's memory is meant to stay flat.
ProcessCollector(registry=REGISTRY)

# Seconds; job starts are meant to be within a second of their time, downloads within minutes.
_LATENESS_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)
_DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0)
_JOB_BUCKETS = (1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

events_handled = Counter(
    "imgjob_events_handled",
    "Bus events handled, by service, event type and outcome (ok, error, ignored).",
    ["service", "event_type", "outcome"],
    registry=REGISTRY,
)
handler_duration = Histogram(
    "imgjob_handler_duration_seconds",
    "Time a handler took, by service and event type.",
    ["service", "event_type"],
    buckets=_DURATION_BUCKETS,
    registry=REGISTRY,
)
dead_letters = Counter(
    "imgjob_dead_letters",
    "Events dead-lettered (their redeliveries exhausted, or not an event at all), by the queue they came from; "
    "counted by the process whose failed delivery dead-lettered each.",
    ["queue"],
    registry=REGISTRY,
)
scheduler_lateness = Histogram(
    "imgjob_scheduler_lateness_seconds",
    "Seconds between a job's scheduled time and its start (negative lateness, an early start, counts as 0).",
    buckets=_LATENESS_BUCKETS,
    registry=REGISTRY,
)
packager_downloads = Counter(
    "imgjob_packager_downloads",
    "Image downloads, by outcome: ok, or why the image was skipped (http_error, timeout, too_large, budget, "
    "not_an_image, too_many_pixels, refused, host_not_found, connection_failed, unsupported_url, "
    "too_many_redirects, empty, other).",
    ["outcome"],
    registry=REGISTRY,
)
packager_bytes = Counter(
    "imgjob_packager_downloaded_bytes",
    "Bytes of images downloaded and kept.",
    registry=REGISTRY,
)
packager_job_duration = Histogram(
    "imgjob_packager_job_duration_seconds",
    "Seconds from the links arriving at the packager to the zip being stored.",
    buckets=_JOB_BUCKETS,
    registry=REGISTRY,
)
notifier_emails = Counter(
    "imgjob_notifier_emails",
    "Emails, by kind (started, ready, failed) and outcome (sent, deferred, refused, undelivered, suppressed).",
    ["kind", "outcome"],
    registry=REGISTRY,
)
webhook_deliveries = Counter(
    "imgjob_webhook_deliveries",
    "Webhook delivery tries, by event type and outcome (delivered, retry, undelivered, gone, redirected, refused).",
    ["event_type", "outcome"],
    registry=REGISTRY,
)
scraper_provider_outcomes = Counter(
    "imgjob_scraper_provider_outcomes",
    "Search provider runs, by provider and outcome (ok, exhausted, blocked, not_understood, unreachable).",
    ["provider", "outcome"],
    registry=REGISTRY,
)
