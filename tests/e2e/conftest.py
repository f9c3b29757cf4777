"""The shared fixtures (tests/support/fixtures.py), the gateway's (tests/unit/fixtures_gateway.py), a
browser (tests/browser.py), and the two every end-to-end test takes: the stack and the fake web."""

from collections.abc import Iterator

import pytest

from tests.browser import driver
from tests.fakeweb import FakeWeb
from tests.support.fixtures import adapters, clock, settings_changes
from tests.unit.fixtures_gateway import base_url

__all__ = ["adapters", "base_url", "clock", "driver", "settings_changes", "stack", "web"]


@pytest.fixture(params=["embedded", "real"])
def stack(request: pytest.FixtureRequest) -> str:
    """Embedded adapters in one process, or every service as a process on the real infrastructure."""
    return str(request.param)


@pytest.fixture(scope="module")
def web() -> Iterator[FakeWeb]:
    """The fake engines and image hosts on loopback, one per test module."""
    with FakeWeb() as running:
        yield running
