"""Feeding hostile HTML to the standard library's parser, and the text of a page's scripts.

`html.parser` raises AssertionError on a few malformed declarations (`<![foo`, `<![ `) where browsers
see a bogus comment; every parser of the providers reads pages through `feed_html`, which reads them
the browsers' way instead, so no page can make a parser raise.
"""

from __future__ import annotations

import logging
import re
from html.parser import HTMLParser

log = logging.getLogger(__name__)

# A marked section other than CDATA: `<!-[` makes the parser take it for the bogus comment it is.
_MARKED_SECTION = re.compile(r"<!\[(?!CDATA\[)", re.IGNORECASE)


def feed_html(parser: HTMLParser, html: str) -> None:
    """Feed `html` to `parser` whole, then close it; never raises for the page's content."""
    try:
        parser.feed(_MARKED_SECTION.sub("<!-[", html))
        parser.close()
    except AssertionError as exc:  # a declaration the substitution did not foresee: keep what was read
        log.debug("page parsing stopped early: %s", exc)


class _ScriptText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[list[str]] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._in_script = True
            self.scripts.append([])

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1].append(data)


def script_texts(html: str) -> list[str]:
    """The text of each of the page's inline scripts, in document order."""
    parser = _ScriptText()
    feed_html(parser, html)
    return ["".join(parts) for parts in parser.scripts]


def script_text(html: str) -> str:
    """The text of the page's inline scripts, in document order, one per line."""
    return "\n".join(script_texts(html))
