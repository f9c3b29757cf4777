"""What the SQLite store keeps against abuse: shared rate-limit counters and the suppression list."""

from __future__ import annotations

import time
from datetime import datetime

from shared.adapters.sqlite.database import Database
from shared.adapters.store_rules import to_ms
from shared.ports.store import rate_window

# Ended windows deleted by each hit, a few at a time, so that no hit pays for a long sweep.
RATE_SWEEP_ROWS = 100


class SqliteAbuseRecords:
    """The JobStore's rate-limit and suppression methods, on the store's database."""

    _db: Database

    def hit_rate_limit(self, key: str, window_seconds: int, now: datetime, limit: int | None = None) -> int:
        """`rate_limits` holds one row per (key, window length): the current window's bounds and count.
        A row whose window has ended counts as zero, is overwritten by the key's next hit, and is
        deleted by any later hit (a few at a time) if the key never comes back."""
        start, end = rate_window(now, window_seconds)
        # BEGIN IMMEDIATE: one writer at a time across every process on the file, so counts are exact.
        with self._db.transaction() as conn:
            conn.execute(
                "DELETE FROM rate_limits WHERE rowid IN (SELECT rowid FROM rate_limits WHERE window_end <= ? LIMIT ?)",
                (to_ms(now), RATE_SWEEP_ROWS),
            )
            row = conn.execute(
                "SELECT window_start, window_end, hits FROM rate_limits WHERE rate_key = ? AND window_seconds = ?",
                (key, window_seconds),
            ).fetchone()
            hits = 0
            if row is not None and row["window_start"] >= start:
                # The current window; or a later one, written by a process whose clock runs ahead at a
                # window's edge: counted there rather than reset to an older window.
                start, end, hits = row["window_start"], row["window_end"], row["hits"]
            if limit is not None and hits >= limit:
                return hits + 1
            conn.execute(
                "INSERT INTO rate_limits (rate_key, window_seconds, window_start, hits, window_end)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (rate_key, window_seconds) DO UPDATE SET"
                " window_start = excluded.window_start, hits = excluded.hits, window_end = excluded.window_end",
                (key, window_seconds, start, hits + 1, end),
            )
        return hits + 1

    def suppress(self, address_hash: str) -> None:
        # `suppressions` holds keyed hashes of mailboxes (shared.unsubscribe), kept for good.
        with self._db.transaction() as conn:
            conn.execute("INSERT OR IGNORE INTO suppressions VALUES (?, ?)", (address_hash, time.time()))

    def is_suppressed(self, address_hash: str) -> bool:
        with self._db.transaction() as conn:
            row = conn.execute("SELECT 1 FROM suppressions WHERE address_hash = ?", (address_hash,)).fetchone()
        return row is not None
