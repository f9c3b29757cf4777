"""The gateway for a WSGI server: `gunicorn 'services.wsgi:create_app()'`.

Part of the composition root: builds the adapters from the environment once per worker. It migrates
nothing (that is `imgjob migrate`); until then `/readyz` says so.

An unusable setting (a missing or weak IMGJOB_SECRET_KEY beside a real adapter included) is written to
stderr and ends the process with status 2. The deployments run gunicorn with `--preload`, so the app
is built in gunicorn's master, which then exits 2 before starting any worker. Without `--preload` a
worker ends with gunicorn's "app failed to load" status (4) instead, the one status on which gunicorn
stops (exiting 4 or 1) rather than starting the worker again and again.
"""

from __future__ import annotations

import logging
import os
import sys

from flask import Flask

from services.bootstrap import bootstrap
from services.gateway.app import create_app as create_gateway
from shared import logs, redaction
from shared.config import Settings, SettingsError

GUNICORN_APP_LOAD_ERROR = 4  # gunicorn.arbiter.Arbiter.APP_LOAD_ERROR


def _in_gunicorn_worker() -> bool:
    """True when a gunicorn worker (not the master, as with --preload) is loading the app."""
    frame = sys._getframe()
    while frame is not None:
        code = frame.f_code
        if code.co_name == "load_wsgi" and f"gunicorn{os.sep}workers" in code.co_filename:
            return True
        frame = frame.f_back  # type: ignore[assignment]
    return False


def _setup_logging(log_format: str) -> None:
    """Under gunicorn our loggers write to its error log. Its handlers, the access log's (if turned on)
    and ours all get the redaction, so a /download/<token> path is never written. With
    IMGJOB_LOG_FORMAT=json they all write JSON lines, gunicorn's own included; in text, gunicorn keeps
    its format. A root logger that already has handlers (an embedding application's) keeps its format."""
    gunicorn_logs = [logging.getLogger("gunicorn.error"), logging.getLogger("gunicorn.access")]
    root = logging.getLogger()
    ours = not root.handlers
    if ours:
        root.handlers = list(gunicorn_logs[0].handlers)
        root.setLevel(gunicorn_logs[0].level or logging.INFO)
    if log_format == "json":
        logs.prepare_all(gunicorn_logs + ([root] if ours else []), log_format, "gateway")
    for logger in (root, *gunicorn_logs):
        redaction.install(logger)


def create_app() -> Flask:
    try:
        settings = Settings.from_env()
        _setup_logging(settings.log_format)
        adapters = bootstrap(settings)
    except SettingsError as exc:  # an invalid setting, an unknown adapter, a missing or weak key
        print(f"imgjob: {exc}", file=sys.stderr)
        raise SystemExit(GUNICORN_APP_LOAD_ERROR if _in_gunicorn_worker() else 2) from exc
    app = create_gateway(adapters)
    app.wsgi_app = logs.JobIdFromPath(app.wsgi_app)  # type: ignore[method-assign]
    return app
