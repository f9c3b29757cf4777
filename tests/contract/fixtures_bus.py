"""The bus adapters the contract suite runs against."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from shared.adapters.memory_bus import MemoryBus
from shared.ports import MessageBus


@pytest.fixture(params=["memory"])
def bus(request: pytest.FixtureRequest) -> Iterator[MessageBus]:
    instance = MemoryBus(max_deliveries=3)
    yield instance
    instance.close()
