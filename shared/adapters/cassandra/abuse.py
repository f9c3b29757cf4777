"""What the Cassandra store keeps against abuse: shared rate-limit counters and the suppression list."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.adapters.cassandra.rows import now_ms
from shared.adapters.cassandra.session import CqlSession
from shared.adapters.store_rules import to_ms
from shared.ports.store import RateHit, rate_window

# Reading a window's rows stops here when there is no limit to stop at.
UNLIMITED_READ = 2**31 - 1


class CassandraAbuseRecords:
    """The JobStore's rate-limit and suppression methods, on the store's CQL session. A call of many
    hits or mailboxes (the gateway checks its threads' submissions together) costs a few requests, not
    a few per hit: on Cassandra a request costs far more than a row."""

    _cql: CqlSession

    def hit_rate_limits(self, hits: Sequence[RateHit], now: datetime) -> list[int]:
        """Writes each hit's own row, then counts each window's rows (at most its limit + 1), and takes
        back the rows that are over their limits: a batch, a read per window length (every key's
        window in one), and a rare batch of deletes, with no transaction. A lightweight transaction per
        hit (Paxos: four round trips and about six times a write's work on the node) was the largest
        cost of a submission. Every admitted hit counted all the rows written before its read, so no
        window admits more than its limit."""
        if not hits:
            return []
        marked = [(hit, self._mark(hit, now)) for hit in hits]
        self._cql.run_unlogged([("insert_rate_mark", [*partition, mark, ttl]) for _, (partition, mark, ttl) in marked])
        # Every key's window of one length, start and read limit in one read.
        windows = [(key, seconds, start, _read_limit(hit)) for hit, ([key, seconds, start], _, _) in marked]
        keys_of: dict[tuple[int, int, int], set[str]] = {}
        for key, seconds, start, limit in windows:
            keys_of.setdefault((seconds, start, limit), set()).add(key)
        reads = list(keys_of)
        found = self._cql.run_many([("count_rate_marks", [sorted(keys_of[read]), *read]) for read in reads])
        rows_of: Counter[tuple[str, int, int, int]] = Counter()
        for (seconds, start, limit), rows in zip(reads, found, strict=True):
            rows_of.update((row["rate_key"], seconds, start, limit) for row in rows)
        counts = [rows_of[window] for window in windows]
        over = [
            ("delete_rate_mark", [*partition, mark])
            for (hit, (partition, mark, _)), count in zip(marked, counts, strict=True)
            if hit.limit is not None and count > hit.limit
        ]
        if over:
            self._cql.run_unlogged(over)
        return counts

    @staticmethod
    def _mark(hit: RateHit, now: datetime) -> tuple[list[Any], uuid.UUID, int]:
        """The hit's partition, its own row's id, and the row's TTL (to its window's end)."""
        start, end = rate_window(now, hit.window_seconds)
        ttl = max(1, math.ceil((end - to_ms(now)) / 1000) + 1)  # Cassandra's TTLs start at a whole second
        return [hit.key, hit.window_seconds, start], uuid.uuid4(), ttl

    def suppress(self, address_hash: str) -> None:
        self._cql.run("insert_suppression", [address_hash, now_ms()])

    def is_suppressed(self, address_hash: str) -> bool:
        return bool(self.suppressed([address_hash]))

    def suppressed(self, address_hashes: Sequence[str]) -> set[str]:
        if not address_hashes:
            return set()
        rows = self._cql.run("select_suppressions", [sorted(set(address_hashes))])
        return {row["address_hash"] for row in rows}


def _read_limit(hit: RateHit) -> int:
    """How many of a window's rows are read: one past the limit tells it is over."""
    return UNLIMITED_READ if hit.limit is None else hit.limit + 1
