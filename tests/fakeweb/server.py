"""Runs the fake web in a background thread on a free loopback port."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Concatenate, ParamSpec

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from tests.fakeweb import bing, brave, duckduckgo, google
from tests.fakeweb.app import create_app, recorded

P = ParamSpec("P")


def _engine_url(engine: str, title: str, encode: Callable[P, str]) -> Callable[Concatenate[FakeWeb, P], str]:
    """A FakeWeb method taking `encode`'s arguments (the engine's scenario) and answering its base URL."""

    def url(self: FakeWeb, /, *args: P.args, **kwargs: P.kwargs) -> str:
        return f"{self.url}/{engine}/{encode(*args, **kwargs)}"

    url.__name__ = f"{engine}_url"
    url.__qualname__ = f"FakeWeb.{engine}_url"
    url.__doc__ = (
        f"The base URL of a fake {title} with this behaviour (see tests/fakeweb/{engine}.py),"
        f" for IMGJOB_{engine.upper()}_URL."
    )
    return url


class FakeWeb:
    """`with FakeWeb() as web:` serves the fake sites at `web.url` until the block ends."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._app: Flask | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "FakeWeb is not running"
        return f"http://{self._host}:{self._server.server_port}"

    bing_url = _engine_url("bing", "Bing", bing.encode_scenario)
    google_url = _engine_url("google", "Google", google.encode_scenario)
    duckduckgo_url = _engine_url("duckduckgo", "DuckDuckGo", duckduckgo.encode_scenario)
    brave_url = _engine_url("brave", "Brave Search", brave.encode_scenario)

    def requests(self, engine: str | None = None) -> list[dict[str, Any]]:
        """What the fake engines were asked, oldest first: `{"engine", "path", "args"}` per request,
        `args` the decoded query parameters (only `engine`'s requests when given)."""
        assert self._app is not None, "FakeWeb is not running"
        return recorded(self._app, engine)

    def start(self) -> FakeWeb:
        self._app = create_app()
        self._server = make_server(self._host, self._port, self._app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="fakeweb")
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeWeb:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
