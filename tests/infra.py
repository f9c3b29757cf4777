"""Where the tests find the real infrastructure, and what happens when it is not there.

`make test` starts every service with scripts/infra/up.sh, so a missing one is a failure. Only the fast
tier (`make test-unit`, which sets IMGJOB_TEST_ALLOW_SKIP=1) skips, loudly, what it cannot reach.
Set IMGJOB_BUS_URL, IMGJOB_STORE_URL, IMGJOB_BLOB_URL, IMGJOB_SMTP_URL or IMGJOB_BROWSER_URL to point
the tests at services elsewhere (still on loopback).
"""

from __future__ import annotations

import os
import socket
from urllib.parse import urlsplit

import pytest

DEFAULT_URLS = {
    "bus": ("IMGJOB_BUS_URL", "amqp", "amqp://guest:guest@127.0.0.1:5672/%2F"),
    "store": ("IMGJOB_STORE_URL", "cassandra", "cassandra://127.0.0.1:9042/imgjob"),
    "blobs": ("IMGJOB_BLOB_URL", "s3", "s3://minioadmin:minioadmin@127.0.0.1:9000/imgjob?secure=false"),
    "smtp": ("IMGJOB_SMTP_URL", "smtp", "smtp://127.0.0.1:1025"),
    "browser": ("IMGJOB_BROWSER_URL", "http", "http://127.0.0.1:4444"),
}


def real_url(port: str) -> str:
    """The real adapter's URL for `port`: the environment's if it names a real one, else the default."""
    variable, scheme, default = DEFAULT_URLS[port]
    value = os.environ.get(variable, "")
    return value if value.startswith(scheme) else default


def require_reachable(port: str) -> str:
    """The URL, after checking something listens there; fail (or, in the fast tier, skip) if not."""
    url = real_url(port)
    parts = urlsplit(url)
    host, number = parts.hostname or "127.0.0.1", parts.port
    try:
        with socket.create_connection((host, number or 0), timeout=2):
            pass
    except OSError as exc:
        message = f"{port}: nothing answers at {host}:{number} ({exc}); run `make infra-up`"
        if os.environ.get("IMGJOB_TEST_ALLOW_SKIP") == "1":
            pytest.skip(f"LOUD SKIP: {message}")
        pytest.fail(message)
    return url
