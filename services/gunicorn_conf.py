"""gunicorn's settings for the gateway, one file for every deployment: `gunicorn -c python:services.gunicorn_conf`.

Command-line flags override these (`--workers`, `--bind`); `WEB_CONCURRENCY` sets the worker count as
gunicorn documents it.
"""

from __future__ import annotations

import os

# A submission spends most of its time waiting on Cassandra and RabbitMQ round trips, so threads in
# each worker overlap those waits; the workers themselves (processes) use the cores.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
keepalive = 5
