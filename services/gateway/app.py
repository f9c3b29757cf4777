"""The gateway's Flask app factory, on adapters the composition root built (`services.wsgi` for gunicorn)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

from flask import Flask, url_for
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.wrappers import Response

from services.gateway import (
    csrf,
    errors,
    state,
    views_api,
    views_download,
    views_ops,
    views_pages,
    views_series,
    views_unsubscribe,
)
from shared.ports import Adapters

# Forms and API bodies are a few hundred bytes; anything near this is not a job submission.
MAX_BODY_BYTES = 64 * 1024
# Static URLs carry a hash of the file, so browsers may keep them for long.
STATIC_MAX_AGE = timedelta(days=365)
# Scripts and styles come from our own files only: no inline code, so injected markup cannot run.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)


def _asset_versions(static_dir: Path) -> dict[str, str]:
    return {
        path.relative_to(static_dir).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in static_dir.rglob("*")
        if path.is_file()
    }


def _secure_headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    # Status pages carry download links; a secret token must not leak through Referer.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    # Job pages and API answers change by the second and may be personal; static files set their own.
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def create_app(adapters: Adapters) -> Flask:
    """The gateway app on the given adapters; nothing connects until a request needs it."""
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=adapters.settings.secret_key,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        SEND_FILE_MAX_AGE_DEFAULT=STATIC_MAX_AGE,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=adapters.settings.public_url.startswith("https://"),
    )
    if adapters.settings.proxy_hops > 0:
        # Only as many X-Forwarded-* hops as there are trusted proxies; the rest could be forged by clients.
        hops = adapters.settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    state.install(app, adapters)

    versions = _asset_versions(Path(app.static_folder or "static"))

    def asset(filename: str) -> str:
        return url_for("static", filename=filename, v=versions.get(filename, "0"))

    app.jinja_env.globals["asset"] = asset
    app.jinja_env.globals["csrf_token"] = csrf.token
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    for blueprint in (views_pages.bp, views_api.bp, views_download.bp, views_ops.bp, views_unsubscribe.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(views_series.bp)
    errors.register(app)
    app.after_request(_secure_headers)
    return app
