"""The Cassandra store's webhook deliveries: one row per (job, event type) in `webhook_deliveries`.

Each row is written with a TTL to its `keep_until`, which later writes keep (they write the TTL left),
so a delivery whose worker vanished still goes by itself. Claims are lightweight transactions on the
attempt count.
"""

from __future__ import annotations

from datetime import datetime

from shared.adapters.cassandra.rows import Row, read_dt, read_ms, ttl_until
from shared.adapters.cassandra.session import CqlSession
from shared.adapters.store_rules import to_ms
from shared.domain.webhooks import WebhookDelivery


def _delivery(row: Row) -> WebhookDelivery:
    created_at = read_dt(row["created_at"])
    assert created_at is not None  # written with every row
    return WebhookDelivery(
        job_id=row["job_id"],
        event_type=row["event_type"],
        delivery_id=row["delivery_id"],
        url=row["url"],
        body=row["body"],
        created_at=created_at,
        attempts=row["attempts"] or 0,
        next_at=read_dt(row["next_at"]),
        signer=row["signer"] or "",
    )


class CassandraWebhookRecords:
    """The JobStore's webhook delivery methods, on the store's CQL session."""

    _cql: CqlSession

    def add_webhook_delivery(self, delivery: WebhookDelivery, keep_until: datetime) -> bool:
        d = delivery
        until = to_ms(keep_until)
        params = [
            d.job_id,
            d.event_type,
            d.delivery_id,
            d.url,
            d.body,
            to_ms(d.created_at),
            d.attempts,
            None if d.next_at is None else to_ms(d.next_at),
            until,
            d.signer,
            ttl_until(until),
        ]

        def ours() -> bool:
            row = self._cql.serial_one("select_webhook_delivery", [d.job_id, d.event_type])
            return row is not None and row["delivery_id"] == d.delivery_id and row["attempts"] == d.attempts

        return self._cql.cas("insert_webhook_delivery", params, ours)

    def webhook_delivery(self, job_id: str, event_type: str) -> WebhookDelivery | None:
        row = self._cql.one("select_webhook_delivery", [job_id, event_type])
        return _delivery(row) if row is not None else None

    def set_webhook_try(
        self, job_id: str, event_type: str, seen_attempts: int, attempts: int, next_at: datetime
    ) -> bool:
        row = self._cql.serial_one("select_webhook_delivery", [job_id, event_type])
        if row is None or row["attempts"] != seen_attempts:
            return False
        ttl = ttl_until(read_ms(row["keep_until"]) or 0)
        params = [ttl, attempts, to_ms(next_at), job_id, event_type, seen_attempts]

        def moved() -> bool:
            again = self._cql.serial_one("select_webhook_delivery", [job_id, event_type])
            return again is not None and again["attempts"] == attempts and read_ms(again["next_at"]) == to_ms(next_at)

        return self._cql.cas("set_webhook_try", params, moved)

    def drop_webhook_delivery(self, job_id: str, event_type: str) -> None:
        self._cql.run("delete_webhook_delivery", [job_id, event_type])
