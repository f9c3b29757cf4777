"""Where the tests find the real infrastructure, and what happens when it is not there.

`make test` starts every service with scripts/infra/up.sh, so a missing one is a failure. Only the fast
tier (`make test-unit`, which sets IMGJOB_TEST_ALLOW_SKIP=1) skips, loudly, what it cannot reach.
Set IMGJOB_BUS_URL, IMGJOB_STORE_URL, IMGJOB_BLOB_URL, IMGJOB_SMTP_URL or IMGJOB_BROWSER_URL to point
the tests at services elsewhere (still on loopback). Where Docker runs, IMGJOB_TEST_INFRA=containers takes
RabbitMQ, Cassandra and MinIO from testcontainers instead, as docker-compose.yml defines them
(tests/infra_containers.py); the default, `local`, is the processes of scripts/infra.
"""

from __future__ import annotations

import os
import socket
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

DEFAULT_URLS = {
    "bus": ("IMGJOB_BUS_URL", "amqp", "amqp://guest:guest@127.0.0.1:5672/%2F"),
    "store": ("IMGJOB_STORE_URL", "cassandra", "cassandra://127.0.0.1:9042/imgjob"),
    "blobs": ("IMGJOB_BLOB_URL", "s3", "s3://minioadmin:minioadmin@127.0.0.1:9000/imgjob?secure=false"),
    "smtp": ("IMGJOB_SMTP_URL", "smtp", "smtp://127.0.0.1:1025"),
    "browser": ("IMGJOB_BROWSER_URL", "http", "http://127.0.0.1:4444"),
}


INFRA_KINDS = ("local", "containers")
CONTAINERIZED = ("bus", "store", "blobs")  # the rest stay local processes: see tests/infra_containers.py


def infra_kind() -> str:
    """Where the real services come from: IMGJOB_TEST_INFRA, `local` (the default) or `containers`."""
    kind = os.environ.get("IMGJOB_TEST_INFRA", "").strip() or "local"
    if kind not in INFRA_KINDS:
        raise ValueError(f"IMGJOB_TEST_INFRA: expected one of {', '.join(INFRA_KINDS)}, got {kind!r}")
    return kind


def real_url(port: str) -> str:
    """The real adapter's URL for `port`: the environment's if it names a real one, else the container's
    (IMGJOB_TEST_INFRA=containers, started on first use) or the local default."""
    variable, scheme, default = DEFAULT_URLS[port]
    value = os.environ.get(variable, "")
    if value.startswith(scheme):
        return value
    if infra_kind() == "containers" and port in CONTAINERIZED:
        from tests.infra_containers import container_url

        return container_url(port)
    return default


def require_reachable(port: str) -> str:
    """The URL, after checking something listens there; fail (or, in the fast tier, skip) if not."""
    try:
        url = real_url(port)
    except Exception as exc:  # a container: no Docker engine, or an image that did not start or become healthy
        unavailable(f"{port}: {type(exc).__name__}: {exc}")
    parts = urlsplit(url)
    host, number = parts.hostname or "127.0.0.1", parts.port
    try:
        with socket.create_connection((host, number or 0), timeout=2):
            pass
    except OSError as exc:
        unavailable(f"{port}: nothing answers at {host}:{number} ({exc}); run `make infra-up`")
    return url


def unavailable(message: str) -> NoReturn:
    """What the tests need is not there: a failure, or in the fast tier (IMGJOB_TEST_ALLOW_SKIP=1) a loud skip."""
    if os.environ.get("IMGJOB_TEST_ALLOW_SKIP") == "1":
        pytest.skip(f"LOUD SKIP: {message}")
    pytest.fail(message)
