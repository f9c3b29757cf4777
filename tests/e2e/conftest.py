"""The gateway tests' fixtures (tests/unit/fixtures_gateway.py) and a browser (tests/browser.py)."""

from tests.browser import driver
from tests.unit.fixtures_gateway import adapters, base_url, clock, gateway_settings

__all__ = ["adapters", "base_url", "clock", "driver", "gateway_settings"]
