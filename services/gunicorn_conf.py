"""gunicorn's settings for the gateway, one file for every deployment: `gunicorn -c python:services.gunicorn_conf`.

Command-line flags override these (`--workers`, `--bind`); `WEB_CONCURRENCY` sets the worker count as
gunicorn documents it.
"""

from __future__ import annotations

import os

# A submission spends most of its time waiting on Cassandra and RabbitMQ round trips, so a worker's
# threads overlap those waits, and the submissions they hold at once go to the store as one group
# (services/gateway/intake.py). One worker of 16 threads makes groups twice the size two workers of 8
# do, and a group of 8 costs Cassandra less than twice what one submission alone does. On 2 cores
# shared with Cassandra and RabbitMQ, 1 x 16 took 148 to 217 submissions/s (p99 152 to 193 ms) where
# 2 x 8 took 107 to 171/s (p99 210 to 352 ms), at 6.4 to 9.3 ms of CPU per submission across all
# processes against 9.1 to 13.1 (five pairs of runs, alternated).
# More workers pay off when the gateway has cores of its own; replicas are the usual way to scale.
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gthread")
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
keepalive = 5
