"""The gateway for a WSGI server: `gunicorn 'services.wsgi:create_app()'`.

Part of the composition root: builds the adapters from the environment once per worker. It migrates
nothing (that is `imgjob migrate`); until then `/readyz` says so.
"""

from __future__ import annotations

import logging

from flask import Flask

from services.bootstrap import bootstrap, load_settings
from services.gateway.app import create_app as create_gateway
from shared import redaction


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
    return create_gateway(bootstrap(load_settings()))
