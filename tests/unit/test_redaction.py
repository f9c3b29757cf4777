"""Logs never hold an address, a query or a download token, whoever logs them."""

from __future__ import annotations

import io
import logging

from shared import redaction


def _captured(logger_name: str) -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger(logger_name)
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    redaction.install(logger)
    return logger, stream


def test_access_lines_search_urls_and_tracebacks_are_masked() -> None:
    logger, stream = _captured("test.redaction")
    token = "Zx9-secret_TOKEN"
    logger.info('127.0.0.1 - - "GET /download/%s HTTP/1.1" 200 -', token)
    logger.info("consent page at %s", "https://www.google.com/search?q=red%20fox&udm=2")
    try:
        raise RuntimeError("550 5.1.1 <someone.private+tag@example.co.uk>: mailbox unavailable")
    except RuntimeError:
        logger.exception("sending failed for job %s", "abc123")
    text = stream.getvalue()
    for secret in (token, "red%20fox", "someone.private", "example.co.uk"):
        assert secret not in text
    assert "/download/[token]" in text and "?q=[query]&udm=2" in text and "[address]" in text
    assert "job abc123" in text and "RuntimeError" in text  # what an operator needs stays


def test_installing_twice_filters_once() -> None:
    logger, _ = _captured("test.redaction.twice")
    redaction.install(logger)
    assert sum(isinstance(f, redaction.RedactingFilter) for f in logger.handlers[0].filters) == 1
