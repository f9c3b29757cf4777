"""Settings, read once from the environment. URL-style settings select the adapter of each port.

Each setting is declared once, as a `Settings` field carrying a `Setting` (variable, default, form, limits, help).
`from_env`, `.env.example` and README's settings table all derive from those, so they cannot disagree:
tests/unit/test_settings.py fails when a file is stale, and `python -m shared.settings_docs --write` rewrites both.
"""

from __future__ import annotations

import dataclasses
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.setting import METADATA_KEY, Setting, SettingsError

PROVIDERS = ("google", "bing", "duckduckgo", "brave")

SEARCH_URLS: tuple[Setting[str], ...] = (
    Setting("IMGJOB_GOOGLE_URL", "https://www.google.com", "url", "Google's base URL", key="google"),
    Setting("IMGJOB_BING_URL", "https://www.bing.com", "url", "Bing's base URL", key="bing"),
    Setting("IMGJOB_DUCKDUCKGO_URL", "https://duckduckgo.com", "url", "DuckDuckGo's base URL", key="duckduckgo"),
    Setting("IMGJOB_BRAVE_URL", "https://search.brave.com", "url", "Brave Search's base URL", key="brave"),
)


@dataclass(frozen=True)
class Settings:
    bus_url: str = Setting(
        "IMGJOB_BUS_URL", "memory://", "text", "Message bus: memory:// (in-process) or amqp://user:pass@host:5672/vhost"
    ).field()
    store_url: str = Setting(
        "IMGJOB_STORE_URL", "sqlite:///var/imgjob.sqlite3", "text", "Jobs: sqlite:///path or cassandra://host/keyspace"
    ).field()
    blob_url: str = Setting(
        "IMGJOB_BLOB_URL",
        "file:var/blobs",
        "text",
        "The zips (the images are stored only inside them): file:dir or s3://key:secret@host:port/bucket",
    ).field()
    smtp_url: str | None = Setting(
        "IMGJOB_SMTP_URL", None, "text", "Mail server, smtp://host:port or smtps://user:pass@host; unset: .eml files"
    ).field()
    mail_outbox: str = Setting(
        "IMGJOB_MAIL_OUTBOX", "var/outbox", "text", "Directory of the .eml files when IMGJOB_SMTP_URL is unset"
    ).field()
    mail_sender: str = Setting(
        "IMGJOB_MAIL_SENDER", "imgjob <imgjob@localhost>", "text", "Sender of the emails"
    ).field()
    dead_letter_dir: str = Setting(
        "IMGJOB_DEAD_LETTER_DIR", "var/dead-letters", "text", "Where the embedded bus (memory://) keeps dead letters"
    ).field()
    mail_lease: int = Setting(
        "IMGJOB_MAIL_LEASE",
        120,
        "int",
        "Seconds a notifier holds an email it sends; a dead one's is retaken after",
        low=5,
        unit="seconds",
    ).field()
    webhook_timeout: float = Setting(
        "IMGJOB_WEBHOOK_TIMEOUT",
        10.0,
        "float",
        "Seconds a webhook receiver has to answer a delivery",
        above=0,
        unit="seconds",
    ).field()
    webhook_first_retry: float = Setting(
        "IMGJOB_WEBHOOK_FIRST_RETRY",
        10.0,
        "float",
        "Seconds before a failed webhook delivery is tried again, doubling after each try, at most an hour",
        above=0,
        unit="seconds",
    ).field()
    webhook_max_age: int = Setting(
        "IMGJOB_WEBHOOK_MAX_AGE",
        86400,
        "int",
        "Seconds a webhook delivery is retried before it is given up (its record and URL then go)",
        low=1,
        unit="seconds",
    ).field()
    browser_url: str = Setting(
        "IMGJOB_BROWSER_URL", "local", "text", "local: Chromium via chromedriver; or the http(s) URL of a Selenium Grid"
    ).field()
    chromium_path: str = Setting(
        "IMGJOB_CHROMIUM_PATH", "/usr/bin/chromium", "text", "Chromium, when IMGJOB_BROWSER_URL is local"
    ).field()
    chromedriver_path: str = Setting(
        "IMGJOB_CHROMEDRIVER_PATH", "/usr/bin/chromedriver", "text", "chromedriver, when IMGJOB_BROWSER_URL is local"
    ).field()
    search_providers: tuple[str, ...] = Setting(
        "IMGJOB_SEARCH_PROVIDERS",
        ("google", "bing", "brave"),
        "list",
        "Search engines, tried in order",
        choices=PROVIDERS,
    ).field()
    search_urls: Mapping[str, str] = dataclasses.field(
        default_factory=lambda: {s.key: s.default for s in SEARCH_URLS}, metadata={METADATA_KEY: SEARCH_URLS}
    )
    save_unparsed: str | None = Setting(
        "IMGJOB_SAVE_UNPARSED",
        None,
        "text",
        "Directory that keeps engine pages not understood, for test fixtures; they hold the query",
    ).field()
    public_url: str = Setting(
        "IMGJOB_PUBLIC_URL", "http://127.0.0.1:8000", "url", "Base of links in emails; https:// marks cookies Secure"
    ).field()
    link_ttl: int = Setting(
        "IMGJOB_LINK_TTL", 86400, "int", "Seconds a download link lives; then the job is deleted", low=1, unit="seconds"
    ).field()
    allow_private_networks: bool = Setting(
        "IMGJOB_ALLOW_PRIVATE_NETWORKS", False, "bool", "Let the downloader fetch from loopback and private addresses"
    ).field()
    secret_key: str = Setting(
        "IMGJOB_SECRET_KEY",
        "",
        "text",
        "Signs links and sessions; 32+ random characters, required with any real adapter (embedded: generated)",
    ).field()
    stuck_after: int = Setting(
        "IMGJOB_STUCK_AFTER", 3600, "int", "Seconds a job may run or package before it is failed", low=1, unit="seconds"
    ).field()
    sweep_interval: float = Setting(
        "IMGJOB_SWEEP_INTERVAL", 30.0, "float", "Seconds between scheduler and janitor sweeps", above=0, unit="seconds"
    ).field()
    max_deliveries: int = Setting(
        "IMGJOB_MAX_DELIVERIES", 5, "int", "Deliveries of a failing event before it is dead-lettered", low=1, high=100
    ).field()
    download_concurrency: int = Setting(
        "IMGJOB_DOWNLOAD_CONCURRENCY", 64, "int", "Images a packager downloads at once", low=1, high=1024
    ).field()
    download_per_host: int = Setting(
        "IMGJOB_DOWNLOAD_PER_HOST", 8, "int", "Images a packager downloads at once from one host", low=1, high=1024
    ).field()
    max_image_bytes: int = Setting(
        "IMGJOB_MAX_IMAGE_BYTES", 25 * 1024 * 1024, "int", "Largest image accepted", low=1, unit="bytes"
    ).field()
    max_job_bytes: int = Setting(
        "IMGJOB_MAX_JOB_BYTES",
        2_000_000_000,
        "int",
        "Image bytes one job may store (then the rest are skipped); file: blobs need that much disk free, and"
        " so does the packager's temporary directory for a recurring search's run (512 MB for any other job)",
        low=1,
        unit="bytes",
    ).field()
    near_duplicates: bool = Setting(
        "IMGJOB_NEAR_DUPLICATES", False, "bool", "Also drop look-alikes (perceptual hash), not just identical images"
    ).field()
    near_duplicate_distance: int = Setting(
        "IMGJOB_NEAR_DUPLICATE_DISTANCE", 8, "int", "Hash bits (of 64) near-duplicates may differ in", low=0, high=64
    ).field()
    page_load_timeout: float = Setting(
        "IMGJOB_PAGE_LOAD_TIMEOUT", 30.0, "float", "Seconds the browser waits for a page", above=0, unit="seconds"
    ).field()
    browser_tries: int = Setting(
        "IMGJOB_BROWSER_TRIES", 3, "int", "Tries at opening a browser session before the job fails", low=1, high=100
    ).field()
    browser_retry_delay: float = Setting(
        "IMGJOB_BROWSER_RETRY_DELAY", 3.0, "float", "Seconds before the 2nd try, doubling after", low=0, unit="seconds"
    ).field()
    rate_limit_per_address: str = Setting(
        "IMGJOB_RATE_LIMIT_PER_ADDRESS", "30/minute", "text", "Job submissions per IP: N/second|minute|hour|day or off"
    ).field()
    rate_limit_per_email: str = Setting(
        "IMGJOB_RATE_LIMIT_PER_EMAIL", "10/hour", "text", "Jobs per email address: N/second|minute|hour|day or off"
    ).field()
    proxy_hops: int = Setting(
        "IMGJOB_PROXY_HOPS", 0, "int", "Proxies in front whose X-Forwarded-For/-Proto are trusted", low=0, high=10
    ).field()
    ops_port: int = Setting(
        "IMGJOB_OPS_PORT",
        9100,
        "int",
        "The workers' health and metrics port; 0 picks a free port, logged at start",
        low=0,
        high=65535,
    ).field()
    ops_host: str = Setting(
        "IMGJOB_OPS_HOST",
        "127.0.0.1",
        "text",
        "Address the ops port listens on; 0.0.0.0 in a container, for probes and Prometheus",
    ).field()
    log_format: str = Setting(
        "IMGJOB_LOG_FORMAT",
        "text",
        "text",
        "Log lines as plain text, or one JSON object each",
        choices=("text", "json"),
    ).field()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from `env` (os.environ by default); unset, empty or blank variables keep their defaults.

        Every unusable variable is reported in one SettingsError, so a deployment is fixed in one round.
        """
        env = os.environ if env is None else env
        defaults = cls()
        values: dict[str, Any] = {}
        problems: list[str] = []
        for f in dataclasses.fields(cls):
            for setting in f.metadata.get(METADATA_KEY, ()):
                raw = env.get(setting.name, "").strip()
                if not raw:
                    continue
                try:
                    value = setting.parse(raw)
                except ValueError:
                    problems.append(f"{setting.name}: expected {setting.expected()}, got {raw!r}")
                    continue
                if setting.key:
                    values.setdefault(f.name, dict(getattr(defaults, f.name)))[setting.key] = value
                else:
                    values[f.name] = value
        if problems:
            raise SettingsError(problems)
        return dataclasses.replace(defaults, **values)


SETTINGS: tuple[Setting[Any], ...] = tuple(
    s for f in dataclasses.fields(Settings) for s in f.metadata.get(METADATA_KEY, ())
)


def resolve_secret_key(settings: Settings, var_dir: Path = Path("var")) -> str:
    """The configured key, or one generated once and kept in var/ so restarts keep sessions valid."""
    if settings.secret_key:
        return settings.secret_key
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
