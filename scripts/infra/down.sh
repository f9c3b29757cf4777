#!/usr/bin/env bash
# Stop what up.sh started; data stays under var/infra until `make clean`.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
for service in smtp grid minio cassandra rabbitmq; do
    "$HERE/$service.sh" down
done
