"""One SQLite file: a connection per thread, immediate transactions, and deletions that leave nothing on
disk (secure_delete, then a truncating checkpoint of the write-ahead log, retried until it succeeds)."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.ports.migration import NotMigrated

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
# A purge waits this long for readers before leaving the log to be emptied by a later transaction.
CHECKPOINT_WAIT_MS = 1_000

# Runs first in every transaction that asks for it; True if it deleted anything.
Sweep = Callable[[sqlite3.Connection], bool]


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._checkpoint_owed = False

    def _connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            # A purged email address must not survive in free pages or in the write-ahead log.
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            self._local.conn = conn
        return conn

    @contextmanager
    def transaction(self, sweep: Sweep | None = None, deletes: bool = False) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE ... COMMIT. `deletes` (or a sweep that deleted) owes a checkpoint."""
        conn = self._connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            swept = sweep(conn) if sweep else False
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        if swept or deletes:
            self._checkpoint_owed = True
        if self._checkpoint_owed:
            self._checkpoint(conn)

    def _checkpoint(self, conn: sqlite3.Connection) -> None:
        """Move deletions out of the write-ahead log into the (securely overwritten) database file and
        empty the log. A reader in a transaction can keep the log from being emptied: the debt is then
        kept, and paid at the end of a later transaction (the janitor's sweep makes one regularly)."""
        conn.execute(f"PRAGMA busy_timeout={CHECKPOINT_WAIT_MS}")
        try:
            busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        wal = self.path.with_name(self.path.name + "-wal")
        if busy == 0 and (not wal.exists() or wal.stat().st_size == 0):
            self._checkpoint_owed = False
        else:
            log.warning("the write-ahead log of %s could not be emptied yet (a reader holds it)", self.path.name)

    @property
    def checkpoint_owed(self) -> bool:
        """True while deleted data may still sit in the write-ahead log."""
        return self._checkpoint_owed

    def check_tables(self, tables: tuple[str, ...], columns: dict[str, str]) -> None:
        """NotMigrated unless the file holds `tables` and `columns` (column -> table), looked at on a
        read-only connection of its own, which never creates the file nor its folder. Like any reader
        of a database in WAL mode, it may leave the `-wal` and `-shm` files beside an existing one."""
        if not self.path.is_file():
            raise NotMigrated(f"sqlite database {self.path}")
        conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
        try:
            found = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            missing = [name for name in tables if name not in found]
            if missing:
                raise NotMigrated(f"table {missing[0]} in sqlite database {self.path}")
            for column, table in columns.items():
                if column not in {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}:
                    raise NotMigrated(f"column {table}.{column} in sqlite database {self.path}")
        finally:
            conn.close()

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
