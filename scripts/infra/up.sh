#!/usr/bin/env bash
# Start every real service imgjob uses, on loopback, idempotently; print where each one runs.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
started=$(date +%s)
services="rabbitmq cassandra minio grid smtp"
# With IMGJOB_TEST_INFRA=containers the tests start RabbitMQ, Cassandra and MinIO themselves, from
# docker-compose.yml (tests/infra_containers.py); the Grid and the SMTP capture stay local processes.
[ "${IMGJOB_TEST_INFRA:-local}" = containers ] && services="grid smtp"
for service in ${IMGJOB_INFRA_SERVICES:-$services}; do
    "$HERE/$service.sh" up
done
log "infrastructure up in $(( $(date +%s) - started ))s"
[ "${IMGJOB_TEST_INFRA:-local}" = containers ] || cat <<ENV
export IMGJOB_BUS_URL='amqp://guest:guest@127.0.0.1:${IMGJOB_RABBITMQ_PORT:-5672}/%2F'
export IMGJOB_STORE_URL='cassandra://127.0.0.1:${IMGJOB_CASSANDRA_PORT:-9042}/imgjob'
export IMGJOB_BLOB_URL='s3://minioadmin:minioadmin@127.0.0.1:${IMGJOB_MINIO_PORT:-9000}/imgjob?secure=false'
ENV
cat <<ENV
export IMGJOB_BROWSER_URL='http://127.0.0.1:${IMGJOB_GRID_PORT:-4444}'
export IMGJOB_SMTP_URL='smtp://127.0.0.1:${IMGJOB_SMTP_PORT:-1025}'
ENV
