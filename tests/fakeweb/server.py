"""Runs the fake web in a background thread on a free loopback port."""

from __future__ import annotations

import threading
from types import TracebackType

from werkzeug.serving import BaseWSGIServer, make_server

from tests.fakeweb import duckduckgo, google
from tests.fakeweb.app import create_app
from tests.fakeweb.bing import encode_scenario


class FakeWeb:
    """`with FakeWeb() as web:` serves the fake sites at `web.url` until the block ends."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "FakeWeb is not running"
        return f"http://{self._host}:{self._server.server_port}"

    def bing_url(
        self,
        total: int = 60,
        captcha: bool | int = False,
        consent: bool = False,
        overlap: int = 0,
        ext: str = "jpg",
        delay_ms: int = 0,
        **image_options: object,
    ) -> str:
        """The base URL of a fake Bing with this behaviour (see tests/fakeweb/bing.py), for IMGJOB_BING_URL."""
        scenario = encode_scenario(total, captcha, consent, overlap, ext, delay_ms, **image_options)
        return f"{self.url}/bing/{scenario}"

    def google_url(
        self,
        total: int = 60,
        batch: int = 100,
        more_every: int = 300,
        captcha: bool | int = False,
        consent: bool | str = False,
        stall: int = 0,
        ext: str = "jpg",
        delay_ms: int = 0,
        **image_options: object,
    ) -> str:
        """The base URL of a fake Google with this behaviour (see tests/fakeweb/google.py), for IMGJOB_GOOGLE_URL."""
        scenario = google.encode_scenario(
            total, batch, more_every, captcha, consent, stall, ext, delay_ms, **image_options
        )
        return f"{self.url}/google/{scenario}"

    def duckduckgo_url(
        self,
        total: int = 60,
        page: int = 100,
        captcha: bool | int = False,
        consent: bool | str = False,
        ext: str = "jpg",
        delay_ms: int = 0,
        **image_options: object,
    ) -> str:
        """The base URL of a fake DuckDuckGo (see tests/fakeweb/duckduckgo.py), for IMGJOB_DUCKDUCKGO_URL."""
        scenario = duckduckgo.encode_scenario(total, page, captcha, consent, ext, delay_ms, **image_options)
        return f"{self.url}/duckduckgo/{scenario}"

    def start(self) -> FakeWeb:
        self._server = make_server(self._host, self._port, create_app(), threaded=True)
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
