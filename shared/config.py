"""Settings, read once from the environment. URL-style settings select the adapter of each port."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

TRUE_WORDS = frozenset({"1", "true", "yes", "on"})


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in TRUE_WORDS


@dataclass(frozen=True)
class Settings:
    bus_url: str = "memory://"
    store_url: str = "sqlite:///var/imgjob.sqlite3"
    blob_url: str = "file:var/blobs"
    smtp_url: str | None = None
    mail_outbox: str = "var/outbox"
    mail_sender: str = "imgjob <imgjob@localhost>"
    browser_url: str = "local"
    chromium_path: str = "/usr/bin/chromium"
    chromedriver_path: str = "/usr/bin/chromedriver"
    search_providers: tuple[str, ...] = ("google", "bing")
    search_urls: Mapping[str, str] = field(
        default_factory=lambda: {
            "google": "https://www.google.com",
            "bing": "https://www.bing.com",
            "duckduckgo": "https://duckduckgo.com",
        }
    )
    public_url: str = "http://127.0.0.1:8000"
    link_ttl: int = 86400
    allow_private_networks: bool = False
    secret_key: str = ""
    # How long a job may sit in running or packaging before the sweeper fails it.
    stuck_after: int = 3600
    sweep_interval: float = 30.0
    max_deliveries: int = 5
    download_concurrency: int = 64
    download_per_host: int = 8
    max_image_bytes: int = 25 * 1024 * 1024
    # Drop images that look like an earlier one (perceptual hash within this many bits of 64).
    near_duplicates: bool = False
    near_duplicate_distance: int = 8
    page_load_timeout: float = 30.0
    # Tries at opening a browser session (a busy or restarting Grid); the wait doubles after each.
    browser_tries: int = 3
    browser_retry_delay: float = 3.0
    # Job submissions allowed per client address and per email address ("N/second|minute|hour|day", or "off").
    rate_limit_per_address: str = "30/minute"
    rate_limit_per_email: str = "10/hour"
    # Reverse proxies in front of the gateway whose X-Forwarded-For/-Proto are trusted (0: none).
    proxy_hops: int = 0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()

        def get(name: str, default: str) -> str:
            value = env.get(name, "")
            return value if value.strip() else default

        urls = dict(defaults.search_urls)
        for provider in urls:
            urls[provider] = get(f"IMGJOB_{provider.upper()}_URL", urls[provider]).rstrip("/")
        providers = tuple(
            p.strip().lower()
            for p in get("IMGJOB_SEARCH_PROVIDERS", ",".join(defaults.search_providers)).split(",")
            if p.strip()
        )
        return cls(
            bus_url=get("IMGJOB_BUS_URL", defaults.bus_url),
            store_url=get("IMGJOB_STORE_URL", defaults.store_url),
            blob_url=get("IMGJOB_BLOB_URL", defaults.blob_url),
            smtp_url=env.get("IMGJOB_SMTP_URL") or None,
            mail_outbox=get("IMGJOB_MAIL_OUTBOX", defaults.mail_outbox),
            mail_sender=get("IMGJOB_MAIL_SENDER", defaults.mail_sender),
            browser_url=get("IMGJOB_BROWSER_URL", defaults.browser_url),
            chromium_path=get("IMGJOB_CHROMIUM_PATH", defaults.chromium_path),
            chromedriver_path=get("IMGJOB_CHROMEDRIVER_PATH", defaults.chromedriver_path),
            search_providers=providers,
            search_urls=urls,
            public_url=get("IMGJOB_PUBLIC_URL", defaults.public_url).rstrip("/"),
            link_ttl=int(get("IMGJOB_LINK_TTL", str(defaults.link_ttl))),
            allow_private_networks=_flag(env.get("IMGJOB_ALLOW_PRIVATE_NETWORKS")),
            secret_key=get("IMGJOB_SECRET_KEY", ""),
            stuck_after=int(get("IMGJOB_STUCK_AFTER", str(defaults.stuck_after))),
            sweep_interval=float(get("IMGJOB_SWEEP_INTERVAL", str(defaults.sweep_interval))),
            max_deliveries=int(get("IMGJOB_MAX_DELIVERIES", str(defaults.max_deliveries))),
            download_concurrency=int(get("IMGJOB_DOWNLOAD_CONCURRENCY", str(defaults.download_concurrency))),
            download_per_host=int(get("IMGJOB_DOWNLOAD_PER_HOST", str(defaults.download_per_host))),
            max_image_bytes=int(get("IMGJOB_MAX_IMAGE_BYTES", str(defaults.max_image_bytes))),
            near_duplicates=_flag(env.get("IMGJOB_NEAR_DUPLICATES")),
            near_duplicate_distance=int(get("IMGJOB_NEAR_DUPLICATE_DISTANCE", str(defaults.near_duplicate_distance))),
            page_load_timeout=float(get("IMGJOB_PAGE_LOAD_TIMEOUT", str(defaults.page_load_timeout))),
            browser_tries=int(get("IMGJOB_BROWSER_TRIES", str(defaults.browser_tries))),
            browser_retry_delay=float(get("IMGJOB_BROWSER_RETRY_DELAY", str(defaults.browser_retry_delay))),
            rate_limit_per_address=get("IMGJOB_RATE_LIMIT_PER_ADDRESS", defaults.rate_limit_per_address),
            rate_limit_per_email=get("IMGJOB_RATE_LIMIT_PER_EMAIL", defaults.rate_limit_per_email),
            proxy_hops=int(get("IMGJOB_PROXY_HOPS", str(defaults.proxy_hops))),
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
