"""Logs hold job ids, never an email address, a search query or a download token.

The code logs ids and counts only; this filter is the net under it, for what libraries log on their
own (an access log line with a download link, a browser error quoting a results URL with `q=`)."""

from __future__ import annotations

import logging
import re

_PATTERNS = (
    (re.compile(r"(/(?:download|unsubscribe)/)[^\s\"'?#]+"), r"\1[token]"),
    (re.compile(r"([?&;](?:q|query|p|text)=)[^&\s\"']*", re.IGNORECASE), r"\1[query]"),
    (re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+"), "[address]"),
)


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message, and its traceback text, with the secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        return True


def install(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of `logger` (the root logger by default)."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
