"""What the Cassandra store keeps against abuse: shared rate-limit counters and the suppression list."""

from __future__ import annotations

import math
import uuid
from datetime import datetime

from shared.adapters.cassandra.rows import now_ms
from shared.adapters.cassandra.session import CqlSession
from shared.adapters.store_rules import to_ms
from shared.ports.store import rate_window

# A rate-limit hit gives up after losing this many races for the next number in its window (each
# lost race means another hit was counted, so only an implausible crowd on one key gets there).
RATE_HIT_TRIES = 1000


class CassandraAbuseRecords:
    """The JobStore's rate-limit and suppression methods, on the store's CQL session."""

    _cql: CqlSession

    def hit_rate_limit(self, key: str, window_seconds: int, now: datetime, limit: int | None = None) -> int:
        """Takes the window's next number with `INSERT ... IF NOT EXISTS` on (window, number): of
        concurrent hits one gets each number, and the losers try the next. A full window is seen by
        a plain read and costs no transaction (counts only grow, so a read can only lag, never lead)."""
        start, end = rate_window(now, window_seconds)
        partition = [key, window_seconds, start]
        ttl = max(1, math.ceil((end - to_ms(now)) / 1000) + 1)  # Cassandra's TTLs start at a whole second
        top = self._cql.one("top_rate_hit", partition)
        taken = top["seq"] if top else 0
        for _ in range(RATE_HIT_TRIES):
            if limit is not None and taken >= limit:
                return taken + 1
            seq, hit = taken + 1, uuid.uuid4()

            def ours(seq: int = seq, hit: uuid.UUID = hit) -> bool:
                row = self._cql.serial_one("select_rate_hit", [*partition, seq])
                return row is not None and row["hit"] == hit

            if self._cql.cas("insert_rate_hit", [*partition, seq, hit, ttl], ours):
                return seq
            top = self._cql.one("top_rate_hit", partition)
            taken = max(seq, top["seq"] if top else 0)
        raise RuntimeError(f"no rate-limit number won in {RATE_HIT_TRIES} tries")

    def suppress(self, address_hash: str) -> None:
        self._cql.run("insert_suppression", [address_hash, now_ms()])

    def is_suppressed(self, address_hash: str) -> bool:
        return self._cql.one("select_suppression", [address_hash]) is not None
