"""Logging for every entrypoint: plain text or one JSON object per line, always redacted.

Each record carries the process's role (`service`: a worker's name, "gateway", or "imgjob" for the
all-in-one) and, while a job is being worked on, its `job_id`, taken from a context variable that the
runtime sets around each handler (and the gateway around each request that names a job). Context
variables follow threads only when copied: work a handler hands to a thread pool keeps its job id only
if submitted through `contextvars.copy_context().run`.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import IO, Any

from pythonjsonlogger.json import JsonFormatter

from shared import redaction

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("text", "json")

_job_id: ContextVar[str | None] = ContextVar("imgjob_job_id", default=None)


def current_job_id() -> str | None:
    return _job_id.get()


@contextmanager
def job_context(job_id: str | None) -> Iterator[None]:
    """Log records made inside (on this thread, or in contexts copied from it) carry `job_id`."""
    token = _job_id.set(job_id or None)
    try:
        yield
    finally:
        _job_id.reset(token)


class ContextFilter(logging.Filter):
    """Adds `service` to every record, and `job_id` when a job is in context (absent otherwise)."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def filter(self, record: logging.LogRecord) -> bool:
        record.service = self.service
        job_id = _job_id.get()
        if job_id is not None and not hasattr(record, "job_id"):
            record.job_id = job_id
        return True


def json_formatter() -> logging.Formatter:
    """time (ISO 8601, UTC), level, service, logger, message, job_id if any, exception if any."""
    return JsonFormatter(
        "%(levelname)s %(service)s %(name)s %(message)s",
        rename_fields={"levelname": "level", "name": "logger", "exc_info": "exception"},
        timestamp="time",
    )


def formatter(log_format: str) -> logging.Formatter:
    if log_format not in FORMATS:
        raise ValueError(f"log format {log_format!r} is not one of {', '.join(FORMATS)}")
    return json_formatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def prepare(handler: logging.Handler, log_format: str, service: str) -> None:
    """Make `handler` write in `log_format`, with the context fields and the redaction."""
    handler.setFormatter(formatter(log_format))
    for found in [f for f in handler.filters if isinstance(f, ContextFilter)]:
        handler.removeFilter(found)
    handler.addFilter(ContextFilter(service))
    if not any(isinstance(f, redaction.RedactingFilter) for f in handler.filters):
        handler.addFilter(redaction.RedactingFilter())


def configure(level: str | int, log_format: str, service: str, stream: IO[str] | None = None) -> None:
    """The root logger writes to `stream` (stderr by default) in `log_format`; replaces its handlers."""
    handler = logging.StreamHandler(stream or sys.stderr)
    prepare(handler, log_format, service)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)


def prepare_all(loggers: Iterable[logging.Logger], log_format: str, service: str) -> None:
    """`prepare` every handler of `loggers` (a server's own loggers, such as gunicorn's)."""
    for logger in loggers:
        for handler in logger.handlers:
            prepare(handler, log_format, service)


# The gateway's paths that name a job: its status page, its API resource, and their sub-paths.
_JOB_PATH = re.compile(r"^/(?:api/)?jobs/([0-9a-f]{32})(?:/|$)")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class JobIdFromPath:
    """WSGI middleware: a request whose path names a job logs with that job's id."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        match = _JOB_PATH.match(environ.get("PATH_INFO", ""))
        with job_context(match.group(1) if match else None):
            return self.app(environ, start_response)
