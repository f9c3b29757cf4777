"""The SQLite store's webhook deliveries: one row per (job, event type) in `webhook_deliveries`.

A row past its `keep_until` is deleted before anyone looks, as a TTL would; deletions are checkpointed
out of the write-ahead log like a purge, so a delivered webhook's URL does not linger on disk.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import datetime

from shared.adapters.sqlite.database import Database
from shared.adapters.sqlite.schema import dt, ts
from shared.domain.webhooks import WebhookDelivery

_COLUMNS = "job_id, event_type, delivery_id, url, body, created_at, attempts, next_at, keep_until, signer"


def _sweep(conn: sqlite3.Connection) -> bool:
    """Deliveries past their keep_until go, as Cassandra's TTL drops them."""
    return conn.execute("DELETE FROM webhook_deliveries WHERE keep_until <= ?", (time.time(),)).rowcount > 0


def _delivery(row: sqlite3.Row) -> WebhookDelivery:
    created_at = dt(row["created_at"])
    assert created_at is not None  # NOT NULL
    return WebhookDelivery(
        job_id=row["job_id"],
        event_type=row["event_type"],
        delivery_id=row["delivery_id"],
        url=row["url"],
        body=row["body"],
        created_at=created_at,
        attempts=row["attempts"],
        next_at=dt(row["next_at"]),
        signer=row["signer"],
    )


class SqliteWebhookRecords:
    """The JobStore's webhook delivery methods, on the store's database."""

    _db: Database

    def add_webhook_delivery(self, delivery: WebhookDelivery, keep_until: datetime) -> bool:
        d = delivery
        values = (d.job_id, d.event_type, d.delivery_id, d.url, d.body, ts(d.created_at), d.attempts, ts(d.next_at))
        with self._db.transaction(_sweep) as conn:
            added = conn.execute(
                f"INSERT OR IGNORE INTO webhook_deliveries ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, ts(keep_until), d.signer),
            ).rowcount
        return added == 1

    def webhook_delivery(self, job_id: str, event_type: str) -> WebhookDelivery | None:
        with self._db.transaction(_sweep) as conn:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM webhook_deliveries WHERE job_id = ? AND event_type = ?", (job_id, event_type)
            ).fetchone()
        return _delivery(row) if row is not None else None

    def set_webhook_try(
        self, job_id: str, event_type: str, seen_attempts: int, attempts: int, next_at: datetime
    ) -> bool:
        with self._db.transaction(_sweep) as conn:
            changed = conn.execute(
                "UPDATE webhook_deliveries SET attempts = ?, next_at = ?"
                " WHERE job_id = ? AND event_type = ? AND attempts = ?",
                (attempts, ts(next_at), job_id, event_type, seen_attempts),
            ).rowcount
        return changed == 1

    def drop_webhook_delivery(self, job_id: str, event_type: str) -> None:
        with self._db.transaction(_sweep, deletes=True) as conn:
            conn.execute("DELETE FROM webhook_deliveries WHERE job_id = ? AND event_type = ?", (job_id, event_type))
