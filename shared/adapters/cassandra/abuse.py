"""What the Cassandra store keeps against abuse: shared rate-limit counters and the suppression list."""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from datetime import datetime

from shared.adapters.cassandra.rows import now_ms
from shared.adapters.cassandra.session import CqlSession
from shared.adapters.store_rules import to_ms
from shared.ports.store import RateHit, rate_window

# Reading a window's rows stops here when there is no limit to stop at.
UNLIMITED_READ = 2**31 - 1


class CassandraAbuseRecords:
    """The JobStore's rate-limit and suppression methods, on the store's CQL session."""

    _cql: CqlSession

    def hit_rate_limits(self, hits: Sequence[RateHit], now: datetime) -> list[int]:
        """Writes each hit's own row, then counts each window's rows (at most its limit + 1), and takes
        back the rows that are over their limits: a batch, concurrent reads, and a rare batch of
        deletes, with no transaction. A lightweight transaction per hit (Paxos: four round trips and
        about six times a write's work on the node) was the largest cost of a submission. Every
        admitted hit counted all the rows written before its read, so no window admits more than
        its limit."""
        if not hits:
            return []
        marks = [self._mark(hit, now) for hit in hits]
        self._cql.run_unlogged([("insert_rate_mark", [*partition, mark, ttl]) for partition, mark, ttl in marks])
        reads = [
            ("count_rate_marks", [*partition, UNLIMITED_READ if hit.limit is None else hit.limit + 1])
            for hit, (partition, _, _) in zip(hits, marks, strict=True)
        ]
        counts = [len(rows) for rows in self._cql.run_many(reads)]
        over = [
            ("delete_rate_mark", [*partition, mark])
            for hit, (partition, mark, _), count in zip(hits, marks, counts, strict=True)
            if hit.limit is not None and count > hit.limit
        ]
        if over:
            self._cql.run_unlogged(over)
        return counts

    @staticmethod
    def _mark(hit: RateHit, now: datetime) -> tuple[list[object], uuid.UUID, int]:
        """The hit's partition, its own row's id, and the row's TTL (to its window's end)."""
        start, end = rate_window(now, hit.window_seconds)
        ttl = max(1, math.ceil((end - to_ms(now)) / 1000) + 1)  # Cassandra's TTLs start at a whole second
        return [hit.key, hit.window_seconds, start], uuid.uuid4(), ttl

    def suppress(self, address_hash: str) -> None:
        self._cql.run("insert_suppression", [address_hash, now_ms()])

    def is_suppressed(self, address_hash: str) -> bool:
        return self._cql.one("select_suppression", [address_hash]) is not None
