"""Keeping the pages a provider did not understand (IMGJOB_SAVE_UNPARSED), so they can become fixtures."""

from __future__ import annotations

import logging
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path

log = logging.getLogger(__name__)


def unparsed_name(provider: str, page: str, now: datetime) -> str:
    """`<provider>-<UTC time>-<random>.html` (`.json` for a JSON answer): nothing of the query in it."""
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    suffix = ".json" if page.lstrip().startswith(("{", "[", ")]}'")) else ".html"
    return f"{provider}-{stamp}-{secrets.token_hex(4)}{suffix}"


def save_unparsed(directory: Path, provider: str, page: str, now: datetime | None = None) -> Path | None:
    """Write `page` into `directory` (created if missing), readable by its owner only; the saved path.

    Never raises: a search must not fail because its evidence could not be kept, so a failure is logged
    and None returned.
    """
    path = directory / unparsed_name(provider, page, now or datetime.now(UTC))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        # The page holds the query: no one but the service's user needs to read it.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8", errors="replace") as file:
            file.write(page)
    except OSError as exc:
        log.warning("the %s page that was not understood could not be saved in %s: %s", provider, directory, exc)
        return None
    log.warning("the %s page that was not understood is saved as %s", provider, path)
    return path
