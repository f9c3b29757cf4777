"""What the SQLite store keeps against abuse: shared rate-limit counters and the suppression list."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from datetime import datetime

from shared.adapters.sqlite.database import Database
from shared.adapters.store_rules import to_ms
from shared.ports.store import RateHit, rate_window

# Ended windows deleted by each hit, a few at a time, so that no hit pays for a long sweep.
RATE_SWEEP_ROWS = 100


class SqliteAbuseRecords:
    """The JobStore's rate-limit and suppression methods, on the store's database."""

    _db: Database

    def hit_rate_limits(self, hits: Sequence[RateHit], now: datetime) -> list[int]:
        """`rate_limits` holds one row per (key, window length): the current window's bounds and count.
        A row whose window has ended counts as zero, is overwritten by the key's next hit, and is
        deleted by any later hit (a few at a time) if the key never comes back. Counts are exact:
        BEGIN IMMEDIATE lets one writer at a time in, across every process on the file."""
        if not hits:
            return []
        with self._db.transaction() as conn:
            conn.execute(
                "DELETE FROM rate_limits WHERE rowid IN (SELECT rowid FROM rate_limits WHERE window_end <= ? LIMIT ?)",
                (to_ms(now), RATE_SWEEP_ROWS),
            )
            return [self._hit(conn, hit, now) for hit in hits]

    @staticmethod
    def _hit(conn: sqlite3.Connection, hit: RateHit, now: datetime) -> int:
        start, end = rate_window(now, hit.window_seconds)
        row = conn.execute(
            "SELECT window_start, window_end, hits FROM rate_limits WHERE rate_key = ? AND window_seconds = ?",
            (hit.key, hit.window_seconds),
        ).fetchone()
        count = 0
        if row is not None and row["window_start"] >= start:
            # The current window; or a later one, written by a process whose clock runs ahead at a
            # window's edge: counted there rather than reset to an older window.
            start, end, count = row["window_start"], row["window_end"], row["hits"]
        if hit.limit is not None and count >= hit.limit:
            return count + 1
        conn.execute(
            "INSERT INTO rate_limits (rate_key, window_seconds, window_start, hits, window_end)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (rate_key, window_seconds) DO UPDATE SET"
            " window_start = excluded.window_start, hits = excluded.hits, window_end = excluded.window_end",
            (hit.key, hit.window_seconds, start, count + 1, end),
        )
        return count + 1

    def suppress(self, address_hash: str) -> None:
        # `suppressions` holds keyed hashes of mailboxes (shared.unsubscribe), kept for good.
        with self._db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO suppressions VALUES (?, ?)", (address_hash, time.time()))

    def is_suppressed(self, address_hash: str) -> bool:
        return bool(self.suppressed([address_hash]))

    def suppressed(self, address_hashes: Sequence[str]) -> set[str]:
        wanted = sorted(set(address_hashes))
        if not wanted:
            return set()
        marks = ", ".join("?" for _ in wanted)
        with self._db.transaction() as conn:
            rows = conn.execute(f"SELECT address_hash FROM suppressions WHERE address_hash IN ({marks})", wanted)
            return {row["address_hash"] for row in rows}
