#!/bin/sh
# The image's entrypoint: `IMAGE COMMAND [ARGS...]`. `gateway` is the web gateway under gunicorn; any other
# command is one of the `imgjob` command line's (scheduler, scraper, packager, notifier, janitor, migrate,
# deadletters, extract, probe, up).
set -eu

if [ "${1:-}" = gateway ]; then
    shift
    # --preload builds the app in gunicorn's master, so a refused setting stops the container with status 2
    # instead of restarting workers forever (services/wsgi.py). services/gunicorn_conf.py holds the worker
    # model; WEB_CONCURRENCY, GUNICORN_CMD_ARGS and further arguments tune it.
    exec gunicorn --config python:services.gunicorn_conf --preload --bind 0.0.0.0:8000 "$@" 'services.wsgi:create_app()'
fi
exec imgjob "$@"
