"""The Cassandra tables and statements of recurring searches, merged into schema.TABLES and cql.STATEMENTS.

Every statement names its table's partition key, like the store's own. A series is one partition of
`series`; its runs and its delivered hashes are one partition each, keyed by the series id; the sweepers
find live series in the few shards of `series_live`. Every row carries a TTL to the series' backstop.
"""

from __future__ import annotations

from shared.adapters.store_rules import IDENTITY, STATE

_RECORDS = "WITH gc_grace_seconds = 86400"
LIVE_SHARDS = 8

SERIES_COLUMNS = (
    "series_id, query, email, count, timezone, repeat, cron, first_at, until_at, created_at, status, filters,"
    " webhook_url, ended_at, purge_after"
)

SERIES_TABLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "series": (
        "series_id text PRIMARY KEY, query text, email text, count int, timezone text, repeat text, cron text,"
        " first_at timestamp, until_at timestamp, created_at timestamp, status text, filters text,"
        " webhook_url text, ended_at timestamp, purge_after timestamp",
        _RECORDS,
        ("series_id",),
    ),
    "series_runs": (
        "series_id text, scheduled_at timestamp, job_id text, PRIMARY KEY (series_id, scheduled_at)",
        _RECORDS,
        ("series_id",),
    ),
    # Keyed hashes only (shared.series_signing): of delivered images' bytes and of their URLs.
    "series_delivered": ("series_id text, key text, PRIMARY KEY (series_id, key)", _RECORDS, ("series_id",)),
    "series_live": (
        "shard int, series_id text, PRIMARY KEY (shard, series_id)",
        "WITH gc_grace_seconds = 3600",
        ("shard",),
    ),
}

_JOB_WRITTEN = (*IDENTITY, *STATE)

SERIES_LWT = frozenset({"end_series", "insert_job_once"})

SERIES_STATEMENTS: dict[str, str] = {
    "insert_series": (f"INSERT INTO {{ks}}.series ({SERIES_COLUMNS}) VALUES (?{', ?' * 14}) USING TTL ?"),
    "select_series": f"SELECT {SERIES_COLUMNS} FROM {{ks}}.series WHERE series_id = ?",
    "end_series": (
        "UPDATE {ks}.series USING TTL ? SET status = ?, ended_at = ? WHERE series_id = ? IF status = 'active'"
    ),
    "delete_series": "DELETE FROM {ks}.series WHERE series_id = ?",
    # A run's job, written once: a redelivered or raced creation of the same run applies nothing.
    "insert_job_once": (
        f"INSERT INTO {{ks}}.jobs (job_id, {', '.join(_JOB_WRITTEN)}) VALUES (?{', ?' * len(_JOB_WRITTEN)})"
        " IF NOT EXISTS USING TTL ?"
    ),
    "insert_series_run": (
        "INSERT INTO {ks}.series_runs (series_id, scheduled_at, job_id) VALUES (?, ?, ?) USING TTL ?"
    ),
    "select_series_run": "SELECT job_id FROM {ks}.series_runs WHERE series_id = ? AND scheduled_at = ?",
    "select_series_runs": "SELECT scheduled_at, job_id FROM {ks}.series_runs WHERE series_id = ?",
    "delete_series_runs": "DELETE FROM {ks}.series_runs WHERE series_id = ?",
    "insert_delivered": "INSERT INTO {ks}.series_delivered (series_id, key) VALUES (?, ?) USING TTL ?",
    "select_delivered_in": "SELECT key FROM {ks}.series_delivered WHERE series_id = ? AND key IN ?",
    # URL keys start with "u" (shared.series_signing): one slice of the partition's clustering order.
    "count_delivered_urls": (
        "SELECT count(*) AS n FROM {ks}.series_delivered WHERE series_id = ? AND key >= 'u' AND key < 'v'"
    ),
    "delete_delivered": "DELETE FROM {ks}.series_delivered WHERE series_id = ?",
    "insert_series_live": "INSERT INTO {ks}.series_live (shard, series_id) VALUES (?, ?) USING TTL ?",
    "scan_series_live": "SELECT series_id FROM {ks}.series_live WHERE shard = ? AND series_id > ? LIMIT ?",
    "delete_series_live": "DELETE FROM {ks}.series_live WHERE shard = ? AND series_id = ?",
}
