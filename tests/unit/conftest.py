"""The gateway tests' fixtures (fixtures_gateway.py) and a browser (tests/browser.py); other modules here
define their own fixtures of these names where they need others."""

from tests.browser import driver
from tests.unit.fixtures_gateway import adapters, base_url, client, clock, gateway_settings

__all__ = ["adapters", "base_url", "client", "clock", "driver", "gateway_settings"]
