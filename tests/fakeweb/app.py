"""The fake web's Flask app: one blueprint per fake site, and a record of what the engines were asked."""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, request

from tests.fakeweb import bing, brave, duckduckgo, google, images

ENGINES = ("bing", "google", "duckduckgo", "brave")


def create_app() -> Flask:
    app = Flask("imgjob-fakeweb")
    app.register_blueprint(images.blueprint)
    app.register_blueprint(bing.blueprint)
    app.register_blueprint(google.blueprint)
    app.register_blueprint(duckduckgo.blueprint)
    app.register_blueprint(brave.blueprint)
    app.extensions["fakeweb_requests"] = {"lock": threading.Lock(), "seen": []}

    @app.before_request
    def record() -> None:
        # Every request an engine receives, its query parameters decoded (the last of a repeated one),
        # so tests can assert the URLs each provider built.
        if request.blueprint in ENGINES:
            state = app.extensions["fakeweb_requests"]
            entry = {"engine": request.blueprint, "path": request.path, "args": request.args.to_dict()}
            with state["lock"]:
                state["seen"].append(entry)

    return app


def recorded(app: Flask, engine: str | None = None) -> list[dict[str, Any]]:
    """The requests the engines received, oldest first (only `engine`'s when given)."""
    state = app.extensions["fakeweb_requests"]
    with state["lock"]:
        return [dict(entry) for entry in state["seen"] if engine is None or entry["engine"] == engine]
