"""A fake web on loopback: a search engine in the real engines' page formats and an image server.

Used by the tests and by the offline demo (`make demo`); it never reaches outside 127.0.0.0/8.
`FakeWeb.requests()` lists what the fake engines were asked (path and query parameters), so tests can
check the URLs each provider built; `img.mix=1` makes the image server serve mixed sizes and formats.
"""

from tests.fakeweb.server import FakeWeb

__all__ = ["FakeWeb"]
