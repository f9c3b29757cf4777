"""The store adapters the contract suite runs against."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.adapters.sqlite_store import SqliteJobStore
from shared.ports import JobStore


@pytest.fixture(params=["sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    instance = SqliteJobStore(tmp_path / "store.sqlite3")
    instance.migrate()
    yield instance
    instance.close()
