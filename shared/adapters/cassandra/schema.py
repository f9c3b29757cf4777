"""The Cassandra store's URL, keyspace and tables.

Every table is read by naming its partition key; there are no secondary indexes, no materialized
views and no ALLOW FILTERING. Lookups other than by job id go through small tables of hints
(`token_index`, `due_by_bucket`, `expiry_by_bucket`, `jobs_by_status`) that the store keeps beside
`jobs` and checks against it on every read (see shared.adapters.store_rules).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote

from shared.adapters.cassandra.series_cql import SERIES_TABLES

DEFAULT_PORT = 9042
_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,47}")

# Hint tables: a resurrected deleted entry is harmless (readers re-check the job), so their
# tombstones may be dropped early; that keeps the churn of started and finished jobs cheap to scan.
_HINTS = "WITH gc_grace_seconds = 3600"
# Tables with personal data or claims: after a delete, compaction may drop the tombstone (and the
# shadowed data) a day later; a multi-node cluster must be repaired more often than that. Every row
# also carries its TTL, so a row resurrected by a missed repair still expires.
_RECORDS = "WITH gc_grace_seconds = 86400"

# table -> (columns and key, options, partition key columns)
TABLES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "jobs": (
        "job_id text PRIMARY KEY, query text, email text, count int, timezone text, created_at timestamp,"
        " scheduled_at timestamp, status text, started_at timestamp, finished_at timestamp,"
        " token_hash text, expires_at timestamp, zip_bytes bigint, failure_reason text, note text,"
        " purge_after timestamp,"
        " links_found int, images_downloaded int, images_failed int, bytes_downloaded bigint,"
        " filters text, webhook_url text, series_id text",
        _RECORDS,
        ("job_id",),
    ),
    "links": (
        "job_id text, position int, url text, page_url text, provider text, width int, height int,"
        " PRIMARY KEY (job_id, position)",
        _RECORDS,
        ("job_id",),
    ),
    "emails": (
        "job_id text, kind text, state text, attempts int, first_at timestamp, lease_until timestamp,"
        " claim_id uuid, detail text, PRIMARY KEY (job_id, kind)",
        _RECORDS,
        ("job_id",),
    ),
    "token_index": ("token_hash text PRIMARY KEY, job_id text", _RECORDS, ("token_hash",)),
    # live_until: the job's backstop deadline while it lives, the purge time once purged.
    "tombstones": ("token_hash text PRIMARY KEY, live_until timestamp", _RECORDS, ("token_hash",)),
    # bucket = the hour of scheduled_at (ms // 3_600_000): one partition per hour of schedule.
    "due_by_bucket": (
        "bucket bigint, scheduled_at timestamp, job_id text, PRIMARY KEY (bucket, scheduled_at, job_id)",
        _HINTS,
        ("bucket",),
    ),
    "expiry_by_bucket": (
        "bucket bigint, expires_at timestamp, job_id text, PRIMARY KEY (bucket, expires_at, job_id)",
        _HINTS,
        ("bucket",),
    ),
    # Sharded so that no status (scheduled jobs far ahead, finished jobs awaiting purge) makes one
    # huge partition; ordered by time, so the first rows of every shard hold the earliest jobs.
    "jobs_by_status": (
        "status text, shard int, scheduled_at timestamp, job_id text,"
        " PRIMARY KEY ((status, shard), scheduled_at, job_id)",
        _HINTS,
        ("status", "shard"),
    ),
    # Rate-limit counts: one partition per (key, window length, window start in ms), one row per
    # counted hit. Plain writes and reads, no transaction (see CassandraAbuseRecords.hit_rate_limit).
    # Every row has a TTL to its window's end; ended windows are never read. Keys are keyed hashes.
    # Written once and expired whole: time-window compaction drops whole files. (`rate_hits`, the
    # numbered table of earlier versions, is no longer read; its rows expire by their TTLs.)
    "rate_marks": (
        "rate_key text, window_seconds int, window_start bigint, hit uuid,"
        " PRIMARY KEY ((rate_key, window_seconds, window_start), hit)",
        "WITH gc_grace_seconds = 3600"
        " AND compaction = {'class': 'TimeWindowCompactionStrategy',"
        " 'compaction_window_unit': 'HOURS', 'compaction_window_size': 1}",
        ("rate_key", "window_seconds", "window_start"),
    ),
    # Pending webhook deliveries (shared.adapters.cassandra.webhooks): a URL and a body, TTL'd to a day
    # or so after their creation, deleted when delivered or given up; purge_job leaves them.
    "webhook_deliveries": (
        "job_id text, event_type text, delivery_id text, url text, body text, created_at timestamp,"
        " attempts int, next_at timestamp, keep_until timestamp, signer text, PRIMARY KEY (job_id, event_type)",
        _RECORDS,
        ("job_id",),
    ),
    # Mailboxes that unsubscribed, as keyed hashes (shared.unsubscribe); no TTL: kept for good.
    "suppressions": ("address_hash text PRIMARY KEY, suppressed_at timestamp", _RECORDS, ("address_hash",)),
}

# Recurring searches (shared.adapters.cassandra.series).
TABLES.update(SERIES_TABLES)

# Columns added after a table was first released: `CREATE TABLE IF NOT EXISTS` leaves an existing table as
# it was, so migrate adds these to it (table -> [(column, type)]).
ADDED_COLUMNS: dict[str, list[tuple[str, str]]] = {
    "jobs": [("filters", "text"), ("webhook_url", "text"), ("series_id", "text")],
}


@dataclass(frozen=True)
class CassandraConfig:
    hosts: tuple[str, ...]
    port: int
    keyspace: str
    replication: int = 1
    datacenter: str | None = None
    username: str | None = None
    password: str | None = None

    def replication_map(self) -> str:
        if self.datacenter:
            return f"{{'class': 'NetworkTopologyStrategy', '{self.datacenter}': {self.replication}}}"
        return f"{{'class': 'SimpleStrategy', 'replication_factor': {self.replication}}}"


def parse_cassandra_url(url: str) -> CassandraConfig:
    """`cassandra://[user:password@]host[,host...][:port]/keyspace[?replication=N&datacenter=DC]`.

    One port for every host (default 9042). `datacenter` selects NetworkTopologyStrategy with N
    replicas there (and makes that data center the local one); otherwise SimpleStrategy.
    """
    if not url.startswith("cassandra://"):
        raise ValueError(f"expected cassandra://host[,host][:port]/keyspace, got {url!r}")
    rest, _, query = url[len("cassandra://") :].partition("?")
    netloc, _, keyspace = rest.partition("/")
    credentials, _, hostlist = netloc.rpartition("@")
    username, _, password = credentials.partition(":")
    hosts, ports = [], set()
    for item in hostlist.split(","):
        host, _, port = item.strip().partition(":")
        if not host:
            raise ValueError(f"empty host in {url!r}")
        hosts.append(host)
        if port:
            ports.add(int(port))
    if len(ports) > 1:
        raise ValueError(f"one port for all hosts, got {sorted(ports)} in {url!r}")
    keyspace = keyspace.strip("/")
    if not _IDENTIFIER.fullmatch(keyspace):
        raise ValueError(f"the keyspace must be a CQL identifier (letters, digits, _), got {keyspace!r}")
    options = {key: values[-1] for key, values in parse_qs(query).items()}
    replication = int(options.get("replication", "1"))
    if replication < 1:
        raise ValueError(f"replication must be at least 1 in {url!r}")
    return CassandraConfig(
        hosts=tuple(hosts),
        port=ports.pop() if ports else DEFAULT_PORT,
        keyspace=keyspace,
        replication=replication,
        datacenter=options.get("datacenter") or None,
        username=unquote(username) or None,
        password=unquote(password) or None,
    )


def schema_statements(config: CassandraConfig) -> list[str]:
    """The DDL, idempotent. Tables get an id derived from their name: processes that migrate at the
    same moment then create the very same table instead of clashing definitions."""
    ks = config.keyspace
    statements = [f"CREATE KEYSPACE IF NOT EXISTS {ks} WITH replication = {config.replication_map()}"]
    for table, (columns, options, _) in TABLES.items():
        table_id = uuid.uuid5(uuid.NAMESPACE_URL, f"imgjob:{ks}.{table}")
        statements.append(f"CREATE TABLE IF NOT EXISTS {ks}.{table} ({columns}) {options} AND id = {table_id}")
    for table, added in ADDED_COLUMNS.items():
        statements += [f"ALTER TABLE {ks}.{table} ADD IF NOT EXISTS {column} {kind}" for column, kind in added]
    return statements
