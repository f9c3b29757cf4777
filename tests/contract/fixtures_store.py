"""The store adapters the contract suite runs against.

The Cassandra adapter works in a keyspace of its own for the test session (`imgjob_test_<random>`),
emptied before each test and dropped at the end. A test passes adapter options (`retention`,
`tombstone_ttl`) with `@pytest.mark.store_options(...)`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cassandra.cluster import Session

from shared.adapters.cassandra_schema import TABLES, parse_cassandra_url
from shared.adapters.cassandra_session import build_cluster
from shared.adapters.cassandra_store import CassandraJobStore
from shared.adapters.sqlite_store import SqliteJobStore
from shared.ports import JobStore
from tests.infra import require_reachable

_KEYSPACE = pytest.StashKey[tuple[str, Session]]()


def _test_keyspace(config: pytest.Config) -> tuple[str, Session]:
    """The session's keyspace URL and an admin connection, made on first use."""
    if _KEYSPACE not in config.stash:
        base = require_reachable("store")
        head, _, query = base.partition("?")
        url = f"{head.rsplit('/', 1)[0]}/imgjob_test_{secrets.token_hex(4)}" + (f"?{query}" if query else "")
        parsed = parse_cassandra_url(url)
        creator = CassandraJobStore(url)
        creator.migrate()
        creator.close()
        admin = build_cluster(parsed)
        session = admin.connect()

        def drop() -> None:
            session.execute(f"DROP KEYSPACE IF EXISTS {parsed.keyspace}", timeout=60)
            admin.shutdown()

        config.add_cleanup(drop)
        config.stash[_KEYSPACE] = (url, session)
    return config.stash[_KEYSPACE]


def _empty_keyspace(url: str, session: Session) -> None:
    """Delete every partition the previous test left (quicker than TRUNCATE, which flushes and
    snapshots; full scans are fine on a test keyspace of a few rows)."""
    keyspace = parse_cassandra_url(url).keyspace
    for table, (_, _, keys) in TABLES.items():
        where = " AND ".join(f"{key} = %s" for key in keys)
        for row in session.execute(f"SELECT DISTINCT {', '.join(keys)} FROM {keyspace}.{table}"):
            session.execute(f"DELETE FROM {keyspace}.{table} WHERE {where}", [row[key] for key in keys])


@pytest.fixture(params=["sqlite", "cassandra"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[JobStore]:
    marker = request.node.get_closest_marker("store_options")
    options: dict[str, Any] = dict(marker.kwargs) if marker else {}
    instance: JobStore
    if request.param == "sqlite":
        instance = SqliteJobStore(tmp_path / "store.sqlite3", **options)
    else:
        url, admin = _test_keyspace(request.config)
        _empty_keyspace(url, admin)
        instance = CassandraJobStore(url, **options)
    instance.migrate()
    yield instance
    instance.close()
