#!/usr/bin/env bash
# MinIO built from source with a pinned `go install` (cached), serving 127.0.0.1:9000 from var/infra.
source "$(dirname "$0")/lib.sh"
VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
BIN=$CACHE_DIR/minio-$VERSION/bin/minio
DIR=$INFRA_DIR/minio
PORT=${IMGJOB_MINIO_PORT:-9000}
export MINIO_ROOT_USER=${MINIO_ROOT_USER:-minioadmin}
export MINIO_ROOT_PASSWORD=${MINIO_ROOT_PASSWORD:-minioadmin}
export MINIO_BROWSER=off
export MINIO_UPDATE=off

ready() { curl -fs -m 2 "http://127.0.0.1:$PORT/minio/health/ready" >/dev/null; }

up() {
    if ready; then log "minio already answers on 127.0.0.1:$PORT"; return 0; fi
    if [ ! -x "$BIN" ]; then
        command -v go >/dev/null || apt_install golang-go
        log "building minio $VERSION with go install (a few minutes, once; output in $INFRA_DIR/minio-build.log)"
        GOBIN=$(dirname "$BIN") GOFLAGS=-mod=mod go install "github.com/minio/minio@$VERSION" \
            >"$INFRA_DIR/minio-build.log" 2>&1 \
            || { tail -20 "$INFRA_DIR/minio-build.log" >&2; die "go install github.com/minio/minio@$VERSION failed"; }
    fi
    mkdir -p "$DIR/data"
    log "starting minio on 127.0.0.1:$PORT"
    start_daemon minio "$DIR/minio.log" "$BIN" server --quiet --address "127.0.0.1:$PORT" "$DIR/data"
    wait_for 60 "minio (readiness endpoint)" ready
    log "minio: s3://$MINIO_ROOT_USER:$MINIO_ROOT_PASSWORD@127.0.0.1:$PORT/imgjob?secure=false (log $DIR/minio.log)"
}

down() { stop_daemon minio; }

"${1:-up}"
