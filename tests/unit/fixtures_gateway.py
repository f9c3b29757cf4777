"""The gateway tests' own fixtures, registered by tests/unit/conftest.py and tests/e2e/conftest.py: a Flask
test client, and the app served on loopback for a browser, both on the shared `adapters`
(tests/support/fixtures.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from services.gateway.app import create_app
from shared.ports import Adapters
from tests.browser import serving


@pytest.fixture
def client(adapters: Adapters) -> FlaskClient:
    """A test client of the gateway app on `adapters`."""
    return create_app(adapters).test_client()


@pytest.fixture
def base_url(adapters: Adapters) -> Iterator[str]:
    """The gateway app on `adapters`, served on a loopback port for a browser."""
    with serving(create_app(adapters)) as url:
        yield url
