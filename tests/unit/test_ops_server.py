"""A worker's ops endpoints, served on an ephemeral port over the real embedded adapters."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from shared import metrics
from shared.adapters.sqlite.store import SqliteJobStore
from shared.events import JOB_STARTED, Event
from shared.ops_server import OpsPortUnavailable, OpsServer
from shared.ports import Adapters
from shared.readiness import check_worker
from shared.runtime import Runner, Service


@contextmanager
def _serving(adapters: Adapters) -> Iterator[OpsServer]:
    """The ops server of a worker on `adapters` (checked at each probe), on a free port."""
    server = OpsServer("127.0.0.1", 0, lambda: check_worker(adapters), metrics.REGISTRY).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def ops(adapters: Adapters) -> Iterator[OpsServer]:
    with _serving(adapters) as server:
        yield server


def _get(ops: OpsServer, path: str) -> requests.Response:
    return requests.get(f"{ops.url}{path}", timeout=5)


def test_healthz_answers_ok_on_the_port_it_picked(ops: OpsServer) -> None:
    assert ops.port > 0
    response = _get(ops, "/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})
    assert _get(ops, "/nothing-here").status_code == 404


def test_readyz_is_ready_once_the_bus_consumes_and_not_after_it_closes(adapters: Adapters, ops: OpsServer) -> None:
    adapters.bus.subscribe("test.ops", [JOB_STARTED], lambda event: None)
    before = _get(ops, "/readyz")
    assert before.status_code == 503
    assert before.json() == {"status": "unavailable", "checks": {"store": "ok", "consumer": "not consuming"}}
    adapters.bus.start()
    ready = _get(ops, "/readyz")
    assert (ready.status_code, ready.json()) == (200, {"status": "ok", "checks": {"store": "ok", "consumer": "ok"}})
    adapters.bus.close()
    closed = _get(ops, "/readyz")
    assert closed.status_code == 503 and closed.json()["checks"]["consumer"] == "not consuming"


def test_readyz_names_a_store_that_is_not_migrated(adapters: Adapters, tmp_path: Path) -> None:
    adapters.bus.start()
    fresh = dataclasses.replace(adapters, store=SqliteJobStore(tmp_path / "never-migrated.sqlite3"))
    with _serving(fresh) as ops:
        response = _get(ops, "/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["consumer"] == "ok"
    assert checks["store"].startswith("not migrated") and "imgjob migrate" in checks["store"]


def test_readyz_says_unavailable_when_the_store_cannot_be_read(adapters: Adapters, tmp_path: Path) -> None:
    adapters.bus.start()
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"not a database, whatever the name says " * 200)
    broken = dataclasses.replace(adapters, store=SqliteJobStore(garbage))
    with _serving(broken) as ops:
        response = _get(ops, "/readyz")
    assert (response.status_code, response.json()["checks"]) == (503, {"store": "unavailable", "consumer": "ok"})


def test_metrics_shows_the_events_the_process_handled(adapters: Adapters, ops: OpsServer) -> None:
    service = Service("ops-test", "test.ops-metrics", handlers={JOB_STARTED: lambda event: None})
    runner = Runner(adapters, [service])
    runner.start()
    adapters.bus.publish(Event(JOB_STARTED, "j1"))
    assert adapters.bus.wait_idle(5)
    response = _get(ops, "/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    line = 'imgjob_events_handled_total{event_type="job.started",outcome="ok",service="ops-test"} 1.0'
    assert line in response.text.splitlines()
    assert "# TYPE imgjob_scheduler_lateness_seconds histogram" in response.text


def test_a_port_in_use_is_refused_with_a_message_naming_the_setting() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = OpsServer("127.0.0.1", port, dict, metrics.REGISTRY)
        with pytest.raises(OpsPortUnavailable) as refused:
            server.start()
    assert f"127.0.0.1:{port}" in str(refused.value)
    assert "IMGJOB_OPS_PORT" in str(refused.value) and "already in use" in str(refused.value)
