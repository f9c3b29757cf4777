"""The fake web's Flask app: one blueprint per fake site."""

from __future__ import annotations

from flask import Flask

from tests.fakeweb import bing, brave, duckduckgo, google, images


def create_app() -> Flask:
    app = Flask("imgjob-fakeweb")
    app.register_blueprint(images.blueprint)
    app.register_blueprint(bing.blueprint)
    app.register_blueprint(google.blueprint)
    app.register_blueprint(duckduckgo.blueprint)
    app.register_blueprint(brave.blueprint)
    return app
