"""The gateway tests' fixtures, registered by tests/unit/conftest.py and tests/e2e/conftest.py: the embedded
adapters on a settable clock, a Flask test client, and the app served on loopback for a browser.

A module changes them by defining a fixture of the same name: `clock` (say, at the real time instead of
NOW) or `gateway_settings` (setting changes). Modules that test other services define their own `adapters`
and `clock`, which take precedence over these.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from services.gateway.app import create_app
from shared.bootstrap import Adapters
from tests.browser import serving
from tests.unit.test_gateway_support import NOW, SettableClock, make_adapters


@pytest.fixture
def clock() -> SettableClock:
    """The adapters' clock, at NOW until the test moves it."""
    return SettableClock(NOW)


@pytest.fixture
def gateway_settings() -> dict[str, object]:
    """Changes to the gateway's settings (see make_settings); none unless a module says otherwise."""
    return {}


@pytest.fixture
def adapters(tmp_path: Path, clock: SettableClock, gateway_settings: dict[str, object]) -> Iterator[Adapters]:
    """Embedded adapters under tmp_path, migrated, closed after the test."""
    found = make_adapters(tmp_path, clock, settings=gateway_settings)
    yield found
    found.close()


@pytest.fixture
def client(adapters: Adapters) -> FlaskClient:
    """A test client of the gateway app on `adapters`."""
    return create_app(adapters).test_client()


@pytest.fixture
def base_url(adapters: Adapters) -> Iterator[str]:
    """The gateway app on `adapters`, served on a loopback port for a browser."""
    with serving(create_app(adapters)) as url:
        yield url
