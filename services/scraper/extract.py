"""`imgjob extract --provider NAME FILE`: the full-size image URLs in a saved results page."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from services.scraper.providers import PARSERS, FoundImage, ProviderBlocked, detect_block
from services.scraper.providers.base import distinct

EXIT_OK = 0
EXIT_NO_RESULTS = 1
EXIT_REFUSED = 2


def extract_urls(provider: str, html: str) -> list[str]:
    """The distinct full-size URLs of the page, in page order.

    Raises ProviderBlocked when the page is a CAPTCHA, "unusual traffic" or consent page, and
    KeyError when the provider has no parser.
    """
    parse = PARSERS[provider]
    images: list[FoundImage] = distinct(parse(html))
    if not images:
        # A saved file has no address to judge, so only its content can show a block.
        reason = detect_block("", html)
        if reason:
            raise ProviderBlocked(reason)
    return [image.url for image in images]


def extract_command(provider: str, path: Path, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the page's image URLs, one per line; the exit status of `imgjob extract`.

    0 with the URLs; 1 when the page holds no results and no block; 2 for a blocked page, an
    unknown provider, or an unreadable file (a message on stderr says which). For duckduckgo the
    file is a saved i.js answer, or a page holding one.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    name = provider.strip().lower()
    if name not in PARSERS:
        print(f"imgjob extract: unknown provider {provider!r} (choose from {', '.join(PARSERS)})", file=err)
        return EXIT_REFUSED
    try:
        html = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        print(f"imgjob extract: cannot read {path}: {exc.strerror or exc}", file=err)
        return EXIT_REFUSED
    try:
        urls = extract_urls(name, html)
    except ProviderBlocked as blocked:
        print(f"imgjob extract: {path} is not a results page: {blocked.reason}", file=err)
        return EXIT_REFUSED
    if not urls:
        print(f"imgjob extract: no {name} image results found in {path}", file=err)
        return EXIT_NO_RESULTS
    for url in urls:
        print(url, file=out)
    return EXIT_OK
