"""A fake web on loopback: a search engine in the real engines' page formats and an image server.

Used by the tests and by the offline demo (`make demo`); it never reaches outside 127.0.0.0/8.
"""

from tests.fakeweb.server import FakeWeb

__all__ = ["FakeWeb"]
