"""The gateway for a WSGI server: `gunicorn 'services.wsgi:create_app()'`.

Part of the composition root: builds the adapters from the environment once per worker. It migrates
nothing (that is `imgjob migrate`); until then `/readyz` says so.

An unusable setting (a missing or weak IMGJOB_SECRET_KEY beside a real adapter included) is written to
stderr and ends the process with status 2; in a gunicorn worker with gunicorn's "app failed to load"
status (4) instead, the one status on which gunicorn stops (and exits 4) rather than starting the worker
again and again.
"""

from __future__ import annotations

import logging
import os
import sys

from flask import Flask

from services.bootstrap import bootstrap, load_settings
from services.gateway.app import create_app as create_gateway
from shared import redaction
from shared.config import SettingsError
from shared.ports import Adapters

GUNICORN_APP_LOAD_ERROR = 4  # gunicorn.arbiter.Arbiter.APP_LOAD_ERROR


def _adapters() -> Adapters:
    """The adapters from the environment; an unusable setting: its reason on stderr, then SystemExit(2)."""
    settings = load_settings()  # exits with status 2 itself, saying why
    try:
        return bootstrap(settings)
    except SettingsError as exc:  # an adapter URL no adapter handles
        print(f"imgjob: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc


def _under_gunicorn() -> bool:
    # gunicorn's arbiter puts SERVER_SOFTWARE=gunicorn/<version> in the environment before it loads the app.
    return os.environ.get("SERVER_SOFTWARE", "").startswith("gunicorn/")


def create_app() -> Flask:
    # Under gunicorn our loggers write to its error log; both it and the access log (if turned on)
    # get the redaction, so a /download/<token> path is never written.
    gunicorn_log = logging.getLogger("gunicorn.error")
    if not logging.getLogger().handlers:
        logging.getLogger().handlers = list(gunicorn_log.handlers)
        logging.getLogger().setLevel(gunicorn_log.level or logging.INFO)
    redaction.install()
    redaction.install(gunicorn_log)
    redaction.install(logging.getLogger("gunicorn.access"))
    try:
        adapters = _adapters()
    except SystemExit as exc:
        if _under_gunicorn():
            raise SystemExit(GUNICORN_APP_LOAD_ERROR) from exc
        raise
    return create_gateway(adapters)
