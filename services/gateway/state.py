"""What the app keeps for its views: the adapters and the metrics, one set per app instance."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask import Flask, current_app, request
from prometheus_client import CollectorRegistry, Counter

from services.gateway.intake import Intake
from services.gateway.ratelimit import Limits
from shared.ports import Adapters

EXTENSION = "imgjob"
METRICS_EXTENSION = "imgjob_metrics"
INTAKE_EXTENSION = "imgjob_intake"
# Job ids are uuid4().hex; anything else is answered 404 before it reaches the store.
JOB_ID_RE = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class Metrics:
    """Counters on a registry of their own, so several apps (tests, `imgjob up`) never collide."""

    registry: CollectorRegistry
    submissions: Counter
    validation_failures: Counter
    cancellations: Counter
    downloads: Counter
    expired_hits: Counter
    rate_limited: Counter
    csrf_failures: Counter
    unsubscribes: Counter

    @classmethod
    def create(cls) -> Metrics:
        registry = CollectorRegistry(auto_describe=True)
        return cls(
            registry=registry,
            submissions=Counter("imgjob_gateway_submissions", "Jobs accepted.", ["channel"], registry=registry),
            validation_failures=Counter(
                "imgjob_gateway_validation_failures", "Submissions refused as invalid.", ["channel"], registry=registry
            ),
            cancellations=Counter(
                "imgjob_gateway_cancellations", "Jobs cancelled before they started.", registry=registry
            ),
            downloads=Counter("imgjob_gateway_downloads", "Zip downloads served (full or partial).", registry=registry),
            expired_hits=Counter(
                "imgjob_gateway_expired_link_hits", "Download links answered with Link has expired.", registry=registry
            ),
            rate_limited=Counter(
                "imgjob_gateway_rate_limited",
                "Submissions refused by a rate limit.",
                ["channel", "limit"],
                registry=registry,
            ),
            csrf_failures=Counter(
                "imgjob_gateway_csrf_failures", "Form posts refused for a bad CSRF token.", registry=registry
            ),
            unsubscribes=Counter(
                "imgjob_gateway_unsubscribes",
                "Unsubscribe requests carried out, by the page's button (form) or a mail client (one_click).",
                ["channel"],
                registry=registry,
            ),
        )


def install(app: Flask, adapters: Adapters) -> None:
    """Attach the adapters, fresh metrics and the intake with its rate limits (ValueError for a
    malformed limit)."""
    settings = adapters.settings
    app.extensions[EXTENSION] = adapters
    app.extensions[METRICS_EXTENSION] = Metrics.create()
    # Counted in the store, which every gateway process shares; on the adapters' clock, so tests move
    # the windows without sleeping.
    per_address, per_email = settings.rate_limit_per_address, settings.rate_limit_per_email
    limits = Limits.create(per_address, per_email, adapters.store, settings.secret_key, adapters.clock)
    app.extensions[INTAKE_EXTENSION] = Intake(adapters, limits)


def adapters() -> Adapters:
    found: Adapters = current_app.extensions[EXTENSION]
    return found


def metrics() -> Metrics:
    found: Metrics = current_app.extensions[METRICS_EXTENSION]
    return found


def intake() -> Intake:
    found: Intake = current_app.extensions[INTAKE_EXTENSION]
    return found


def public_url() -> str:
    return adapters().settings.public_url.rstrip("/")


def client_address() -> str:
    """The caller's address; behind trusted proxies (IMGJOB_PROXY_HOPS) ProxyFix has already set it."""
    return request.remote_addr or "unknown"


def is_job_id(value: str) -> bool:
    return bool(JOB_ID_RE.match(value))
