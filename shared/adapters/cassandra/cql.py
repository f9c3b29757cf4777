"""Every CQL statement the Cassandra store runs, by name; `{ks}` is the keyspace.

Each names the partition key of its table (tests/contract/test_store_contract.py checks it), so each
is answered by the replicas of one partition. Statements marked LWT are lightweight transactions.
"""

from __future__ import annotations

from shared.adapters.cassandra.series_cql import SERIES_LWT, SERIES_STATEMENTS
from shared.adapters.store_rules import IDENTITY, PROGRESS, STATE

JOB_COLUMNS = ("job_id", *IDENTITY, *STATE, *PROGRESS)

_ALL = ", ".join(JOB_COLUMNS)
_WRITTEN = (*IDENTITY, *STATE)
_SET_WRITTEN = ", ".join(f"{c} = ?" for c in _WRITTEN)
_SET_PROGRESS = ", ".join(f"{c} = ?" for c in PROGRESS)
_IF_PROGRESS = " AND ".join(f"{c} = ?" for c in PROGRESS)

LWT = frozenset(
    {
        "transition_job",
        "start_due_job",
        "carry_progress",
        "delete_job",
        "claim_email",
        "reclaim_email",
        "settle_email",
        "insert_webhook_delivery",
        "set_webhook_try",
    }
)

STATEMENTS: dict[str, str] = {
    "select_job": f"SELECT {_ALL} FROM {{ks}}.jobs WHERE job_id = ?",
    "insert_job": (
        f"INSERT INTO {{ks}}.jobs (job_id, {', '.join(_WRITTEN)}) VALUES (?{', ?' * len(_WRITTEN)}) USING TTL ?"
    ),
    "transition_job": f"UPDATE {{ks}}.jobs USING TTL ? SET {_SET_WRITTEN} WHERE job_id = ? IF status IN ?",
    "start_due_job": (
        "UPDATE {ks}.jobs USING TTL ? SET status = ?, started_at = ? WHERE job_id = ?"
        " IF status = ? AND scheduled_at = ? AND series_id = null"
    ),
    # Unset values (the driver's UNSET_VALUE) leave a counter as it is.
    "set_progress": f"UPDATE {{ks}}.jobs USING TTL ? SET {_SET_PROGRESS} WHERE job_id = ?",
    # Re-writes unchanged counters under a later deadline, unless a counter changed meanwhile.
    "carry_progress": f"UPDATE {{ks}}.jobs USING TTL ? SET {_SET_PROGRESS} WHERE job_id = ? IF {_IF_PROGRESS}",
    "delete_job": "DELETE FROM {ks}.jobs WHERE job_id = ? IF EXISTS",
    "delete_links": "DELETE FROM {ks}.links USING TIMESTAMP ? WHERE job_id = ?",
    "insert_link": (
        "INSERT INTO {ks}.links (job_id, position, url, page_url, provider, width, height)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) USING TTL ? AND TIMESTAMP ?"
    ),
    "select_links": "SELECT position, url, page_url, provider, width, height FROM {ks}.links WHERE job_id = ?",
    "claim_email": (
        "INSERT INTO {ks}.emails (job_id, kind, state, attempts, first_at, lease_until, claim_id)"
        " VALUES (?, ?, 'pending', 1, ?, ?, ?) IF NOT EXISTS USING TTL ?"
    ),
    # Taken over from the claim that was read (a deferred email's next try, or a dead notifier's).
    "reclaim_email": (
        "UPDATE {ks}.emails USING TTL ? SET state = 'pending', attempts = ?, lease_until = ?, claim_id = ?"
        " WHERE job_id = ? AND kind = ? IF claim_id = ? AND state = ?"
    ),
    "settle_email": (
        "UPDATE {ks}.emails USING TTL ? SET state = ?, detail = ?, lease_until = null"
        " WHERE job_id = ? AND kind = ? IF claim_id = ? AND state = 'pending'"
    ),
    "select_email": (
        "SELECT kind, state, attempts, first_at, lease_until, claim_id, detail FROM {ks}.emails"
        " WHERE job_id = ? AND kind = ?"
    ),
    "select_emails": (
        "SELECT kind, state, attempts, first_at, lease_until, claim_id, detail FROM {ks}.emails WHERE job_id = ?"
    ),
    "delete_emails": "DELETE FROM {ks}.emails WHERE job_id = ?",
    "insert_token": "INSERT INTO {ks}.token_index (token_hash, job_id) VALUES (?, ?) USING TTL ?",
    "select_token": "SELECT job_id FROM {ks}.token_index WHERE token_hash = ?",
    "delete_token": "DELETE FROM {ks}.token_index WHERE token_hash = ?",
    "insert_tombstone": "INSERT INTO {ks}.tombstones (token_hash, live_until) VALUES (?, ?) USING TTL ?",
    "select_tombstone": "SELECT live_until FROM {ks}.tombstones WHERE token_hash = ?",
    "insert_due": "INSERT INTO {ks}.due_by_bucket (bucket, scheduled_at, job_id) VALUES (?, ?, ?) USING TTL ?",
    "delete_due": "DELETE FROM {ks}.due_by_bucket WHERE bucket = ? AND scheduled_at = ? AND job_id = ?",
    "scan_due": ("SELECT scheduled_at, job_id FROM {ks}.due_by_bucket WHERE bucket = ? AND scheduled_at <= ? LIMIT ?"),
    "insert_expiry": "INSERT INTO {ks}.expiry_by_bucket (bucket, expires_at, job_id) VALUES (?, ?, ?) USING TTL ?",
    "delete_expiry": "DELETE FROM {ks}.expiry_by_bucket WHERE bucket = ? AND expires_at = ? AND job_id = ?",
    "scan_expiry": (
        "SELECT expires_at, job_id FROM {ks}.expiry_by_bucket WHERE bucket = ? AND expires_at <= ? LIMIT ?"
    ),
    "insert_status": (
        "INSERT INTO {ks}.jobs_by_status (status, shard, scheduled_at, job_id) VALUES (?, ?, ?, ?) USING TTL ?"
    ),
    "delete_status": (
        "DELETE FROM {ks}.jobs_by_status WHERE status = ? AND shard = ? AND scheduled_at = ? AND job_id = ?"
    ),
    "scan_status": (
        "SELECT scheduled_at, job_id FROM {ks}.jobs_by_status WHERE status = ? AND shard = ? AND scheduled_at < ?"
        " LIMIT ?"
    ),
    "insert_rate_mark": (
        "INSERT INTO {ks}.rate_marks (rate_key, window_seconds, window_start, hit) VALUES (?, ?, ?, ?) USING TTL ?"
    ),
    # The windows of many keys of one length and start, read in one request.
    "count_rate_marks": (
        "SELECT rate_key FROM {ks}.rate_marks WHERE rate_key IN ? AND window_seconds = ? AND window_start = ?"
        " PER PARTITION LIMIT ?"
    ),
    "delete_rate_mark": (
        "DELETE FROM {ks}.rate_marks WHERE rate_key = ? AND window_seconds = ? AND window_start = ? AND hit = ?"
    ),
    "insert_suppression": "INSERT INTO {ks}.suppressions (address_hash, suppressed_at) VALUES (?, ?)",
    "select_suppressions": "SELECT address_hash FROM {ks}.suppressions WHERE address_hash IN ?",
    "insert_webhook_delivery": (
        "INSERT INTO {ks}.webhook_deliveries (job_id, event_type, delivery_id, url, body, created_at, attempts,"
        " next_at, keep_until, signer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) IF NOT EXISTS USING TTL ?"
    ),
    "select_webhook_delivery": (
        "SELECT job_id, event_type, delivery_id, url, body, created_at, attempts, next_at, keep_until, signer"
        " FROM {ks}.webhook_deliveries WHERE job_id = ? AND event_type = ?"
    ),
    "set_webhook_try": (
        "UPDATE {ks}.webhook_deliveries USING TTL ? SET attempts = ?, next_at = ?"
        " WHERE job_id = ? AND event_type = ? IF attempts = ?"
    ),
    "delete_webhook_delivery": "DELETE FROM {ks}.webhook_deliveries WHERE job_id = ? AND event_type = ?",
}
# Recurring searches (shared.adapters.cassandra.series).
STATEMENTS.update(SERIES_STATEMENTS)
LWT = LWT | SERIES_LWT
