#!/usr/bin/env bash
# kustomize at a pinned version: built once with `go install` from the Go module proxy into the cache
# (~/.cache/imgjob, or IMGJOB_CACHE_DIR), then run with the arguments given:
#   scripts/tools/kustomize.sh build k8s/overlays/prod
# Exits 3, saying so, when there is no Go to build it with (the tests fail on that, or skip in the fast tier).
set -euo pipefail

VERSION=v5.8.1
CACHE_DIR=${IMGJOB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/imgjob}
BIN=$CACHE_DIR/kustomize-$VERSION/kustomize

if [ ! -x "$BIN" ]; then
    if ! command -v go >/dev/null; then
        echo "kustomize.sh: Go is needed to build kustomize $VERSION (go install); none on PATH" >&2
        exit 3
    fi
    echo "kustomize.sh: building kustomize $VERSION with go install into $(dirname "$BIN") (once)" >&2
    mkdir -p "$CACHE_DIR"
    # Built beside the cache and moved in whole, so a run that stops half-way leaves no broken binary.
    staging=$(mktemp -d "$CACHE_DIR/kustomize-build.XXXXXX")
    if ! GOBIN=$staging go install "sigs.k8s.io/kustomize/kustomize/v5@$VERSION" >&2; then
        rm -rf "$staging"
        echo "kustomize.sh: go install sigs.k8s.io/kustomize/kustomize/v5@$VERSION failed" >&2
        exit 1
    fi
    mkdir -p "$(dirname "$BIN")"
    mv -f "$staging/kustomize" "$BIN"
    rm -rf "$staging"
fi
exec "$BIN" "$@"
