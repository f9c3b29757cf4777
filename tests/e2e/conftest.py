"""The shared fixtures (tests/support/fixtures.py), the gateway's (tests/unit/fixtures_gateway.py) and a
browser (tests/browser.py)."""

from tests.browser import driver
from tests.support.fixtures import adapters, clock, settings_changes
from tests.unit.fixtures_gateway import base_url

__all__ = ["adapters", "base_url", "clock", "driver", "settings_changes"]
