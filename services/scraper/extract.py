"""`imgjob extract --provider NAME FILE`: the full-size image URLs in a saved results page."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from services.scraper.providers import PARSERS, FoundImage, PageNotUnderstood, ProviderBlocked, detect_block
from services.scraper.providers.base import distinct

EXIT_OK = 0
EXIT_NO_RESULTS = 1
EXIT_REFUSED = 2
EXIT_NOT_UNDERSTOOD = 3


def extract_urls(provider: str, html: str) -> list[str]:
    """The distinct full-size URLs of the page, in page order.

    Raises ProviderBlocked when the page is a CAPTCHA, "unusual traffic" or consent page,
    PageNotUnderstood when it is no results page the provider's parser knows, and KeyError when the
    provider has no parser.
    """
    parse = PARSERS[provider]
    try:
        images: list[FoundImage] = distinct(parse(html))
    except PageNotUnderstood:
        # A saved file has no address to judge, so only its content can show a block.
        reason = detect_block("", html)
        if reason:
            raise ProviderBlocked(reason) from None
        raise
    return [image.url for image in images]


def extract_command(provider: str, path: Path, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Print the page's image URLs, one per line; the exit status of `imgjob extract`.

    0 with the URLs; 1 when the page says it holds no results; 2 for a blocked page, an unknown
    provider, or an unreadable file; 3 for a page the provider's parser does not understand (another
    engine's, or the engine's own after a change of format). A message on stderr says which. For
    google the file may be a saved ischj answer, for duckduckgo a saved i.js answer.
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
    except PageNotUnderstood as exc:
        print(f"imgjob extract: {path} is not a {name} results page this version understands ({exc})", file=err)
        return EXIT_NOT_UNDERSTOOD
    if not urls:
        print(f"imgjob extract: no {name} image results in {path} (the page says it has none)", file=err)
        return EXIT_NO_RESULTS
    for url in urls:
        print(url, file=out)
    return EXIT_OK
