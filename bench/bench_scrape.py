"""Benchmark: collecting 500 image links through Selenium, the scraper's way beside the clicking way.

The fake web (tests/fakeweb) serves a Google Images page with 600 results: 100 per load, more loaded
by scrolling, a "Show more results" button every 300, the results' data in inline scripts, and a
preview pane that shows the full-size image when a thumbnail is clicked, as the real page does. In a
fresh browser session each:

1. the scraper's GoogleProvider reads the full-size URLs in bulk from the page's script data and then
   from the engine's JSON result pages (or by scrolling, where those are not served) until it has 500;
2. the baseline, the usual way of such scrapers, clicks each thumbnail and reads the full-size URL (and
   the page link) from the preview pane, scrolling for more the same way.

Both must find the same 500 URLs in the same order. Targets (DESIGN.md): the scraper well under a minute
and at least 10 times faster than clicking. The other providers' times on their fake engines are shown
for comparison. Exits 1 if a target is missed.

    python bench/bench_scrape.py [--links 500] [--total 600]

Uses a local Chromium (/usr/bin/chromium), or the Selenium Grid named by IMGJOB_BROWSER_URL if it is a URL.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the fake web lives in tests/, which is not installed

from _stack import machine  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.remote.webdriver import WebDriver  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402

from services.scraper.providers import make_provider  # noqa: E402
from services.scraper.providers.base import DistinctImages, FoundImage  # noqa: E402
from services.scraper.providers.google import GoogleProvider  # noqa: E402
from services.scraper.providers.page_actions import ask_for_more, page_state  # noqa: E402
from shared.adapters.selenium.browsers import GridBrowser, LocalChromium  # noqa: E402
from shared.ports import BrowserFactory  # noqa: E402
from tests.fakeweb import FakeWeb  # noqa: E402

QUERY = "red fox"
SPEED_TARGET = 10.0
TIME_TARGET = 60.0


def browser() -> tuple[BrowserFactory, str]:
    url = os.environ.get("IMGJOB_BROWSER_URL", "local")
    if url.startswith(("http://", "https://")):
        return GridBrowser(url, 30), f"Selenium Grid at {url}"
    return LocalChromium("/usr/bin/chromium", "/usr/bin/chromedriver", 30), "local Chromium"


def click_each_thumbnail(driver: WebDriver, base_url: str, wanted: int) -> list[FoundImage]:
    """The baseline: one click per thumbnail, the full-size URL read from the preview pane."""
    driver.get(GoogleProvider(base_url).search_url(QUERY))
    pane_image = driver.find_element(By.CSS_SELECTOR, "#islsp img.sFlh5c")
    pane_link = driver.find_element(By.CSS_SELECTOR, "#islsp a.eHAdSb")
    found = DistinctImages(limit=wanted)
    done = 0
    shown = pane_image.get_dom_attribute("src")
    state = page_state(driver)
    for _ in range(200):  # a bound on scrolls, as the scraper has
        thumbnails = driver.find_elements(By.CSS_SELECTOR, "div.isv-r a.wXeWr")
        for thumbnail in thumbnails[done:]:
            # As lean as clicking gets: one click, one read per poll until the pane changes, one read for the page.
            thumbnail.click()
            shown = WebDriverWait(driver, 10, poll_frequency=0.01).until(
                lambda _d, before=shown: (src := pane_image.get_dom_attribute("src")) != before and src
            )
            found.add([FoundImage(str(shown), pane_link.get_dom_attribute("href"))])
            if found.full:
                return found.images
        done = len(thumbnails)
        if state.end:
            break
        ask_for_more(driver, state, 5)
        state = page_state(driver)
    return found.images


def timed(factory: BrowserFactory, work: Callable[[WebDriver], list[FoundImage]]) -> tuple[float, float, list[str]]:
    """Seconds to open the session, seconds for the work in it, and the URLs it found."""
    began = time.perf_counter()
    with factory.session() as driver:
        opened = time.perf_counter()
        images = work(driver)
        finished = time.perf_counter()
    return opened - began, finished - opened, [image.url for image in images]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--links", type=int, default=500, help="links to collect (default 500)")
    parser.add_argument("--total", type=int, default=600, help="results the fake engines have (default 600)")
    args = parser.parse_args(argv)
    factory, where = browser()
    wanted = args.links
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise

    def nothing(_found: int) -> None:
        return None

    with FakeWeb() as web:
        google = web.google_url(total=args.total)
        expected = [f"{web.url}/img/{n}.jpg" for n in range(1, min(wanted, args.total) + 1)]
        print(f"collecting {wanted} links from a fake Google with {args.total} results, through {where}")
        start_bulk, bulk, bulk_urls = timed(
            factory, lambda d: GoogleProvider(google).search(d, QUERY, wanted, nothing).images
        )
        start_click, clicking, click_urls = timed(factory, lambda d: click_each_thumbnail(d, google, wanted))
        others = {}
        for name, base in (("duckduckgo", web.duckduckgo_url(total=args.total)), ("bing", web.bing_url(args.total))):
            provider = make_provider(name, base)
            others[name] = timed(factory, lambda d, p=provider: p.search(d, QUERY, wanted, nothing).images)

    ratio = clicking / bulk
    print()
    print(f"{'approach':<44} {'links':>6} {'seconds':>8} {'links/s':>8} {'session start':>14}")
    rows = [
        ("google: results read in bulk (the scraper)", bulk_urls, bulk, start_bulk),
        ("google: click each thumbnail (baseline)", click_urls, clicking, start_click),
    ]
    rows += [(f"{name}: the scraper, for comparison", urls, t, s) for name, (s, t, urls) in others.items()]
    for label, urls, seconds, started in rows:
        print(f"{label:<44} {len(urls):>6} {seconds:>8.2f} {len(urls) / seconds:>8.1f} {started:>13.2f}s")
    print()
    print(f"machine: {machine()}")
    print(f"ratio: the scraper is {ratio:.1f}x faster than clicking each thumbnail (target >= {SPEED_TARGET:.0f}x)")
    failures = []
    if bulk_urls != expected or click_urls != expected:
        failures.append("the two approaches did not both find the expected links in order")
    if any(urls != expected for _, _, urls in others.values()):
        failures.append("another provider did not find the expected links in order")
    if ratio < SPEED_TARGET:
        failures.append(f"only {ratio:.1f}x faster than clicking")
    if bulk >= TIME_TARGET:
        failures.append(f"the scraper took {bulk:.1f} s")
    for failure in failures:
        print(f"TARGET MISSED: {failure}")
    if not failures:
        print(f"targets met: {len(bulk_urls)} links in {bulk:.2f} s (< {TIME_TARGET:.0f} s), {ratio:.1f}x >= 10x")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
