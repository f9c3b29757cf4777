"""The Cassandra adapter's own rules, checked without a server: its URLs, its CQL, its laziness."""

from __future__ import annotations

import re

import pytest
from cassandra.cluster import NoHostAvailable

from shared.adapters.cassandra.cql import STATEMENTS
from shared.adapters.cassandra.schema import TABLES, parse_cassandra_url, schema_statements
from shared.adapters.cassandra.store import CassandraJobStore


def test_cql_names_a_partition_key_and_never_filters() -> None:
    """Every statement reads or writes the partitions of its keys (one, or a list: `IN ?`): no ALLOW
    FILTERING, no index, no view."""
    for name, text in STATEMENTS.items():
        assert "ALLOW FILTERING" not in text.upper(), name
        found = re.search(r"(?:FROM|INTO|UPDATE) \{ks\}\.(\w+)", text)
        assert found, name
        keys = TABLES[found.group(1)][2]
        if text.startswith("INSERT"):
            columns = re.search(r"\(([^)]*)\)", text)
            assert columns and set(keys) <= {c.strip() for c in columns.group(1).split(",")}, name
        else:
            where = text.split(" WHERE ", 1)[1].split(" IF ", 1)[0]
            assert all(re.search(rf"\b{key} (= \?|IN \?)", where) for key in keys), name
    ddl = " ".join(schema_statements(parse_cassandra_url("cassandra://127.0.0.1/imgjob"))).upper()
    assert ddl.count("CREATE TABLE") == len(TABLES)
    assert not re.search(r"CREATE (CUSTOM )?INDEX|MATERIALIZED VIEW|ALLOW FILTERING", ddl)


def test_cassandra_urls() -> None:
    plain = parse_cassandra_url("cassandra://127.0.0.1:9042/imgjob")
    assert (plain.hosts, plain.port, plain.keyspace, plain.replication, plain.datacenter) == (
        ("127.0.0.1",),
        9042,
        "imgjob",
        1,
        None,
    )
    assert plain.replication_map() == "{'class': 'SimpleStrategy', 'replication_factor': 1}"
    full = parse_cassandra_url("cassandra://app:s%40cret@h1,h2:9142/jobs?replication=3&datacenter=dc1")
    assert (full.hosts, full.port, full.keyspace, full.username, full.password) == (
        ("h1", "h2"),
        9142,
        "jobs",
        "app",
        "s@cret",
    )
    assert full.replication_map() == "{'class': 'NetworkTopologyStrategy', 'dc1': 3}"
    assert parse_cassandra_url("cassandra://h1,h2/ks").port == 9042
    for bad in (
        "cassandra://h1/",
        "cassandra://h1/ks;DROP",
        "cassandra://h1:1,h2:2/ks",
        "cassandra://h1/ks?replication=0",
        "sqlite:///ks",
    ):
        with pytest.raises(ValueError):
            parse_cassandra_url(bad)


def test_the_cassandra_store_connects_on_first_use_only() -> None:
    store = CassandraJobStore("cassandra://127.0.0.1:1/imgjob", request_timeout=2)  # nothing listens there
    with pytest.raises(NoHostAvailable):
        store.get_job("anything")
    store.close()
