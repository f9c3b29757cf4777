"""The scheduler's hot path on Cassandra: starting a due job in one conditional write, with no read first.

At 10,000 jobs due in a minute every start was a read, the transition's own read, a hint, the
transaction and two hint deletes: six requests, most of the scheduler's and the node's CPU. A plain job
that is still scheduled for the time its `job.due` names needs none of the reads: the transaction's
condition says all the reads would have. Anything else (a series' run, a moved or cancelled job, a
redelivery) fails the condition and takes the general path, which reads the job. Two requests in all.
"""

from __future__ import annotations

from datetime import datetime

from shared.adapters.cassandra.rows import bucket, read_ms, shard, ttl_until
from shared.adapters.cassandra.session import CqlSession
from shared.adapters.store_rules import to_ms
from shared.domain.model import JobStatus

_RUNNING = JobStatus.RUNNING.value
_SCHEDULED = JobStatus.SCHEDULED.value


class CassandraDueStarts:
    """The JobStore's `start_due`, on the store's CQL session."""

    _cql: CqlSession
    _retention_ms: int

    def start_due(self, job_id: str, scheduled_at: datetime, now: datetime) -> bool:
        due, started = to_ms(scheduled_at), to_ms(now)
        # A scheduled job has no expiry yet, so its deadline is its time plus the retention (as written
        # by add_job; purge_deadline_ms): the cells written here end with the rest of the row.
        ttl = ttl_until(due + self._retention_ms)
        params = [ttl, _RUNNING, started, job_id, _SCHEDULED, due]
        if not self._cql.cas("start_due_job", params, lambda: self._started_by(job_id, started)):
            return False
        # Unlike transition, the new hint comes after the write, with the old ones' deletes in one
        # request (one fewer per start). A crash in between leaves the job.due unacknowledged: its
        # redelivery finds the job running and calls `transition`, which writes the hints again.
        self._cql.run_unlogged(
            [
                ("insert_status", [_RUNNING, shard(job_id), due, job_id, ttl]),
                ("delete_status", [_SCHEDULED, shard(job_id), due, job_id]),
                ("delete_due", [bucket(due), due, job_id]),
            ]
        )
        return True

    def _started_by(self, job_id: str, started: int) -> bool:
        row = self._cql.serial_one("select_job", [job_id])
        return row is not None and row["status"] == _RUNNING and read_ms(row["started_at"]) == started
