"""`imgjob probe [--provider P ...] [--count N] QUERY`: each search provider run live, as a canary.

Each provider searches in a browser session of its own, from the browser the settings name (a local
Chromium or a Selenium Grid), so one engine's block or cookies never colour another's figures. Per
provider it reports the links found, the pages loaded, the seconds the search took and the outcome:
ok, blocked, not understood (the engine's page changed), no results, or unreachable. The exit status
is 0 only when every provider is ok, so a scheduler can alert on anything else.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from services.scraper.providers import ProviderUnavailable, make_provider
from services.scraper.session import SESSION_ERRORS, BrowserUnavailable, describe, open_session
from services.scraper.unparsed import save_unparsed
from shared.ports import BrowserFactory

EXIT_OK = 0
EXIT_NOT_OK = 1

OK = "ok"
BLOCKED = "blocked"
NOT_UNDERSTOOD = "not understood"
NO_RESULTS = "no results"
UNREACHABLE = "unreachable"
UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class ProbeRow:
    """How one provider's live search went."""

    provider: str
    outcome: str
    links: int = 0
    pages: int = 0
    seconds: float = 0.0
    detail: str = ""


def probe_provider(
    browser: BrowserFactory, name: str, base_url: str | None, query: str, count: int, save_dir: Path | None = None
) -> ProbeRow:
    """Search `query` for up to `count` links with provider `name`, in a browser session of its own."""
    try:
        provider = make_provider(name, base_url)
    except ProviderUnavailable as exc:
        return ProbeRow(name, UNAVAILABLE, detail=str(exc))
    began = time.monotonic()
    try:
        with open_session(browser, tries=1, delay=0) as driver:
            began = time.monotonic()  # the search's time, not the browser's start
            result = provider.search(driver, query, count, lambda found: None)
    except BrowserUnavailable as exc:
        return ProbeRow(name, UNREACHABLE, detail=str(exc))
    except SESSION_ERRORS as exc:  # Selenium's errors (the engine unreachable) among them
        return ProbeRow(name, UNREACHABLE, seconds=time.monotonic() - began, detail=describe(exc))
    seconds = time.monotonic() - began
    found = len(result.images)
    if result.blocked_reason:
        return ProbeRow(name, BLOCKED, found, result.pages, seconds, result.blocked_reason)
    if result.not_understood:
        saved = save_unparsed(save_dir, name, result.unparsed) if save_dir and result.unparsed else None
        return ProbeRow(name, NOT_UNDERSTOOD, found, result.pages, seconds, f"page saved as {saved}" if saved else "")
    return ProbeRow(name, OK if found else NO_RESULTS, found, result.pages, seconds)


def _line(cells: Sequence[object]) -> str:
    provider, links, pages, seconds, outcome = cells
    return f"{provider:<12} {links:>6} {pages:>6} {seconds:>8} {outcome}"


def probe_command(
    browser: BrowserFactory,
    names: Sequence[str],
    base_urls: Mapping[str, str],
    query: str,
    count: int,
    out: TextIO,
    save_dir: Path | None = None,
) -> int:
    """Probe each of `names` in turn, printing a table row as each finishes; the exit status."""
    print(_line(("provider", "links", "pages", "seconds", "outcome")), file=out, flush=True)
    rows = []
    for name in names:
        row = probe_provider(browser, name, base_urls.get(name), query, count, save_dir)
        rows.append(row)
        outcome = f"{row.outcome}: {row.detail}" if row.detail else row.outcome
        print(_line((row.provider, row.links, row.pages, f"{row.seconds:.1f}", outcome)), file=out, flush=True)
    return EXIT_OK if rows and all(row.outcome == OK for row in rows) else EXIT_NOT_OK
