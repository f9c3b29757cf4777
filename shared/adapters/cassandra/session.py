"""One lazily opened, thread-safe Cassandra session with the store's statements prepared once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from cassandra import ConsistencyLevel, OperationTimedOut, ProtocolVersion, WriteTimeout
from cassandra.auth import PlainTextAuthProvider
from cassandra.cluster import EXEC_PROFILE_DEFAULT, Cluster, ExecutionProfile, ResultSet, Session
from cassandra.concurrent import execute_concurrent
from cassandra.policies import DCAwareRoundRobinPolicy, TokenAwarePolicy
from cassandra.protocol import ErrorMessage
from cassandra.query import BatchStatement, BatchType, PreparedStatement, Statement, dict_factory

from shared.adapters.cassandra.cql import LWT, STATEMENTS
from shared.adapters.cassandra.schema import ADDED_COLUMNS, TABLES, CassandraConfig, schema_statements
from shared.ports.migration import NotMigrated

log = logging.getLogger(__name__)

Row = dict[str, Any]
# Protocol v5's CAS_WRITE_UNKNOWN: the coordinator cannot tell whether the transaction applied (kept
# for a driver that speaks v5; on v4 the same arrives as a WriteTimeout).
_CAS_WRITE_UNKNOWN = 0x1700
_CONCURRENCY = 64
# Cassandra's unlogged_batch_across_partitions_warn_threshold.
UNLOGGED_PER_BATCH = 10


def _outcome_unknown(exc: Exception) -> bool:
    if isinstance(exc, WriteTimeout | OperationTimedOut):
        return True
    return isinstance(exc, ErrorMessage) and getattr(exc, "code", None) == _CAS_WRITE_UNKNOWN


def build_cluster(config: CassandraConfig, request_timeout: float = 10.0) -> Cluster:
    """A driver Cluster for `config` (not yet connected): token-aware routing preferring the local
    data center, LOCAL_QUORUM, LOCAL_SERIAL (SERIAL without a data center), rows as dicts."""
    profile = ExecutionProfile(
        load_balancing_policy=TokenAwarePolicy(DCAwareRoundRobinPolicy(config.datacenter or "")),
        consistency_level=ConsistencyLevel.LOCAL_QUORUM,
        serial_consistency_level=ConsistencyLevel.LOCAL_SERIAL if config.datacenter else ConsistencyLevel.SERIAL,
        request_timeout=request_timeout,
        row_factory=dict_factory,
    )
    auth = PlainTextAuthProvider(config.username, config.password or "") if config.username else None
    return Cluster(
        list(config.hosts),
        port=config.port,
        execution_profiles={EXEC_PROFILE_DEFAULT: profile},
        auth_provider=auth,
        connect_timeout=request_timeout,
        # v4, not v5 (named, which spares a negotiation and its warnings): v5 frames every message in
        # checksummed segments that the driver builds in Python, a third more client CPU per statement.
        # v4 has all the store uses; an unknown LWT outcome arrives as a WriteTimeout of type CAS.
        protocol_version=ProtocolVersion.V4,
    )


class CqlSession:
    """Connects on first use; every statement is prepared once per process and reused by all threads
    (the driver's Session is thread-safe). Reads and writes run at LOCAL_QUORUM, the Paxos phase of
    lightweight transactions at LOCAL_SERIAL (SERIAL without a named data center)."""

    def __init__(self, config: CassandraConfig, request_timeout: float = 10.0) -> None:
        self._config = config
        self._request_timeout = request_timeout
        self._lock = threading.Lock()
        self._cluster: Cluster | None = None
        self._session: Session | None = None
        self._prepared: dict[str, PreparedStatement] = {}
        self._last_micros = 0
        self.serial = ConsistencyLevel.LOCAL_SERIAL if config.datacenter else ConsistencyLevel.SERIAL

    def _connect(self) -> Session:
        with self._lock:
            if self._session is None:
                self._cluster = build_cluster(self._config, self._request_timeout)
                self._session = self._cluster.connect()
            return self._session

    def migrate(self) -> None:
        session = self._connect()
        for statement in schema_statements(self._config):
            session.execute(statement)
        if not self._cluster or not self._cluster.control_connection.wait_for_schema_agreement():
            log.warning("cassandra nodes do not agree on the schema yet")

    def ping(self) -> None:
        """One round trip to a node, then the keyspace and its tables looked up in the driver's schema
        metadata (loaded on connecting, kept current by the cluster's schema events). No DDL."""
        session = self._connect()
        session.execute("SELECT release_version FROM system.local")
        cluster = session.cluster
        keyspace = cluster.metadata.keyspaces.get(self._config.keyspace)
        if keyspace is None:
            raise NotMigrated(f"cassandra keyspace {self._config.keyspace}")
        missing = [table for table in TABLES if table not in keyspace.tables]
        if missing:
            raise NotMigrated(f"cassandra table {self._config.keyspace}.{missing[0]}")
        for table, added in ADDED_COLUMNS.items():
            for column, _ in added:
                if column not in keyspace.tables[table].columns:
                    raise NotMigrated(f"cassandra column {self._config.keyspace}.{table}.{column}")

    def statement(self, name: str) -> PreparedStatement:
        prepared = self._prepared.get(name)
        if prepared is None:
            prepared = self._connect().prepare(STATEMENTS[name].format(ks=self._config.keyspace))
            if name in LWT:
                prepared.serial_consistency_level = self.serial
            self._prepared[name] = prepared  # a race prepares twice; both are the same statement
        return prepared

    def run(self, name: str, params: Sequence[Any]) -> ResultSet:
        return self._connect().execute(self.statement(name), params)

    def one(self, name: str, params: Sequence[Any]) -> Row | None:
        row: Row | None = self.run(name, params).one()
        return row

    def serial_one(self, name: str, params: Sequence[Any]) -> Row | None:
        """A read at SERIAL consistency: it first completes any transaction still in flight."""
        bound = self.statement(name).bind(params)
        bound.consistency_level = self.serial
        row: Row | None = self._connect().execute(bound).one()
        return row

    def run_many(self, calls: Iterable[tuple[str, Sequence[Any]]]) -> list[list[Row]]:
        """Run independent statements concurrently; their rows, in the order of `calls`."""
        pairs = [(self.statement(name), params) for name, params in calls]
        return [list(result) for result in self._concurrently(pairs)]

    def run_together(self, calls: Iterable[tuple[str, Sequence[Any]]]) -> None:
        """Write the statements as one logged batch: one request, and all of them are applied or none
        (the batch log replays a half-applied one), so no statement of it has to go first."""
        self.run_together_many([list(calls)])

    def run_together_many(self, batches: Sequence[Sequence[tuple[str, Sequence[Any]]]]) -> None:
        """Write each group of statements as a logged batch of its own, the batches concurrently."""
        self._batches(BatchType.LOGGED, batches)

    def run_unlogged(self, calls: Iterable[tuple[str, Sequence[Any]]]) -> None:
        """Write independent statements in few requests (each applies on its own, as if sent apart):
        batches of up to UNLOGGED_PER_BATCH, concurrently, since Cassandra warns of (and a coordinator
        strains under) an unlogged batch across more partitions than that."""
        listed = list(calls)
        self._batches(
            BatchType.UNLOGGED,
            [listed[first : first + UNLOGGED_PER_BATCH] for first in range(0, len(listed), UNLOGGED_PER_BATCH)],
        )

    def _batches(self, kind: BatchType, groups: Sequence[Sequence[tuple[str, Sequence[Any]]]]) -> None:
        batches = []
        for calls in groups:
            batch = BatchStatement(batch_type=kind)
            for name, params in calls:
                batch.add(self.statement(name), params)
            batches.append(batch)
        self._concurrently([(batch, None) for batch in batches])

    def _concurrently(self, pairs: Sequence[tuple[Statement, Sequence[Any] | None]]) -> list[ResultSet]:
        """Each statement's results; the first error raised once all are sent. A few go out as plain
        futures: the driver's concurrent executor costs more Python than the requests themselves."""
        session = self._connect()
        if len(pairs) > _CONCURRENCY:
            results = execute_concurrent(session, pairs, concurrency=_CONCURRENCY, raise_on_first_error=True)
            return [result for _, result in results]
        futures = [session.execute_async(statement, params) for statement, params in pairs]
        return [future.result() for future in futures]

    def cas(self, name: str, params: Sequence[Any], verify: Callable[[], bool]) -> bool:
        """Run a lightweight transaction; whether it applied. When the coordinator cannot say (a
        timeout under contention), `verify` decides from a SERIAL read of what is stored now."""
        try:
            applied: bool = self.run(name, params).was_applied
            return applied
        except Exception as exc:
            if not _outcome_unknown(exc):
                raise
            log.warning("outcome of %s unknown (%s); reading it back", name, exc)
            return verify()

    def timestamps(self, count: int) -> int:
        """The first of `count` increasing write timestamps (microseconds) no other call of this
        process gets: save_links deletes the old rows at t and writes the new ones at t + 1."""
        with self._lock:
            first = max(time.time_ns() // 1000, self._last_micros + 1)
            self._last_micros = first + count - 1
        return first

    def close(self) -> None:
        with self._lock:
            if self._cluster is not None:
                self._cluster.shutdown()
            self._cluster = None
            self._session = None
            self._prepared = {}
