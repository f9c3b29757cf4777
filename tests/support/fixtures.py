"""The fixtures the unit and end-to-end suites share, registered by tests/unit/conftest.py and
tests/e2e/conftest.py: a settable clock, embedded adapters on it, and a recorder of their bus's events.

A module changes them by defining a fixture of the same name: `clock` (say, at the real time instead of
NOW) or `settings_changes` (changes to embedded_settings).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.ports import Adapters
from tests.support.adapters import embedded_adapters
from tests.support.clock import NOW, SettableClock
from tests.support.events import EventRecorder


@pytest.fixture
def clock() -> SettableClock:
    """The adapters' clock, at NOW until the test moves it."""
    return SettableClock(NOW)


@pytest.fixture
def settings_changes() -> dict[str, Any]:
    """Changes to the embedded settings (see embedded_settings); none unless a module says otherwise."""
    return {}


@pytest.fixture
def adapters(tmp_path: Path, clock: SettableClock, settings_changes: dict[str, Any]) -> Iterator[Adapters]:
    """Embedded adapters under tmp_path, on `clock`, migrated, closed after the test."""
    found = embedded_adapters(tmp_path, clock, **settings_changes)
    yield found
    found.close()


@pytest.fixture
def recorder(adapters: Adapters) -> EventRecorder:
    """Every event on the adapters' bus, which it starts."""
    events = EventRecorder(adapters)
    adapters.bus.start()
    return events
