"""The shared fixtures (tests/support/fixtures.py), the gateway's (fixtures_gateway.py) and a browser
(tests/browser.py); modules here define their own fixtures of these names where they need others."""

from tests.browser import driver
from tests.support.fixtures import adapters, clock, recorder, settings_changes
from tests.unit.fixtures_gateway import base_url, client

__all__ = ["adapters", "base_url", "client", "clock", "driver", "recorder", "settings_changes"]
