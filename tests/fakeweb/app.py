"""The fake web's Flask app: one blueprint per fake site."""

from __future__ import annotations

from flask import Flask

from tests.fakeweb import bing, images


def create_app() -> Flask:
    app = Flask("imgjob-fakeweb")
    app.register_blueprint(images.blueprint)
    app.register_blueprint(bing.blueprint)
    return app
