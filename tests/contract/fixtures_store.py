"""The store adapters the contract suite runs against.

The Cassandra adapter works in a keyspace of its own for the test session (`imgjob_test_<random>`),
emptied before each test and dropped at the end. A test passes adapter options (`retention`,
`tombstone_ttl`) with `@pytest.mark.store_options(...)`. `unmigrated_store` is a place (a sqlite path
under a missing folder, a keyspace never created) where no store was ever migrated.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cassandra.cluster import Session

from shared.adapters.cassandra.schema import TABLES, parse_cassandra_url
from shared.adapters.cassandra.session import build_cluster
from shared.adapters.cassandra.store import CassandraJobStore
from shared.adapters.sqlite.store import SqliteJobStore
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


@dataclass
class UnmigratedStore:
    """`name` is the database file or keyspace, `open` makes a store for it; `tables` reads what it
    holds (None while the file, its folder or the keyspace does not exist), bypassing the adapter;
    `create_empty` makes the file or keyspace with no table in it."""

    name: str
    open: Callable[[], JobStore]
    tables: Callable[[], set[str] | None]
    create_empty: Callable[[], None]


@pytest.fixture(params=["sqlite", "cassandra"])
def unmigrated_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[UnmigratedStore]:
    opened: list[JobStore] = []

    def tracked(instance: JobStore) -> JobStore:
        opened.append(instance)
        return instance

    if request.param == "sqlite":
        path = tmp_path / "absent" / "store.sqlite3"

        def sqlite_tables() -> set[str] | None:
            if not path.parent.exists():
                return None
            if not path.exists():
                return set()
            conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
            try:
                return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            finally:
                conn.close()

        def create_file() -> None:
            path.parent.mkdir()
            sqlite3.connect(path).close()

        yield UnmigratedStore(str(path), lambda: tracked(SqliteJobStore(path)), sqlite_tables, create_file)
        for instance in opened:
            instance.close()
        return

    base, admin = _test_keyspace(request.config)
    head, _, query = base.partition("?")
    url = f"{head.rsplit('/', 1)[0]}/imgjob_unmigrated_{secrets.token_hex(4)}" + (f"?{query}" if query else "")
    keyspace = parse_cassandra_url(url)

    def cassandra_tables() -> set[str] | None:
        select = "SELECT {} FROM system_schema.{} WHERE keyspace_name = %s"
        if not admin.execute(select.format("keyspace_name", "keyspaces"), [keyspace.keyspace]).one():
            return None
        return {row["table_name"] for row in admin.execute(select.format("table_name", "tables"), [keyspace.keyspace])}

    def create_keyspace() -> None:
        ddl = f"CREATE KEYSPACE {keyspace.keyspace} WITH replication = {keyspace.replication_map()}"
        admin.execute(ddl, timeout=60)

    try:
        yield UnmigratedStore(
            keyspace.keyspace, lambda: tracked(CassandraJobStore(url)), cassandra_tables, create_keyspace
        )
    finally:
        for instance in opened:
            instance.close()
        if cassandra_tables() is not None:
            admin.execute(f"DROP KEYSPACE IF EXISTS {keyspace.keyspace}", timeout=60)
