"""The test Cassandra node runs with the settings imgjob's hot paths were measured on: set by
scripts/infra/cassandra.sh for the local node, by docker-compose.yml for its container."""

from __future__ import annotations

from cassandra.cluster import Cluster

from shared.adapters.cassandra.schema import parse_cassandra_url
from tests.infra import require_reachable


def test_lightweight_transactions_use_paxos_v2() -> None:
    """Every job's start and state change is a lightweight transaction: v2 takes fewer round trips and
    less of the node's CPU per transaction than v1 (README, "Benchmarks")."""
    config = parse_cassandra_url(require_reachable("store"))
    cluster = Cluster(list(config.hosts), port=config.port)
    try:
        row = cluster.connect().execute("SELECT value FROM system_views.settings WHERE name = 'paxos_variant'").one()
    finally:
        cluster.shutdown()
    assert row is not None and row.value == "v2"
