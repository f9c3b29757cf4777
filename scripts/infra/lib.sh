# Shared by the infra scripts: where things live, and how to wait for a service to answer.
# Sourced, not run. Data and logs go under var/infra (ignored); downloads are cached outside the repo.
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
INFRA_DIR=${IMGJOB_INFRA_DIR:-$REPO_ROOT/var/infra}
CACHE_DIR=${IMGJOB_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/imgjob}
VENV_BIN=$REPO_ROOT/.venv/bin
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
mkdir -p "$INFRA_DIR" "$CACHE_DIR"

log() { printf '[infra %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# apt_install PACKAGE... : install Debian packages that are missing (apt-get update once per run).
apt_install() {
    local missing=()
    for package in "$@"; do
        dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    log "apt-get install ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for SECONDS DESCRIPTION COMMAND... : poll until COMMAND succeeds, or fail with the log's tail.
wait_for() {
    local seconds=$1 what=$2 deadline
    shift 2
    deadline=$(( $(date +%s) + seconds ))
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s)" -ge "$deadline" ]; then
            die "$what did not answer within ${seconds}s"
        fi
        sleep 1
    done
}

# start_daemon NAME LOGFILE COMMAND... : run COMMAND in the background in its own session, pid in NAME.pid.
start_daemon() {
    local name=$1 logfile=$2
    shift 2
    setsid nohup "$@" >>"$logfile" 2>&1 < /dev/null &
    echo $! > "$INFRA_DIR/$name.pid"
}

# stop_daemon NAME : TERM the process group, then KILL what is left after a grace period.
stop_daemon() {
    local pidfile="$INFRA_DIR/$1.pid" pid
    pid_alive "$pidfile" || { rm -f "$pidfile"; return 0; }
    pid=$(cat "$pidfile")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    rm -f "$pidfile"
    log "$1 stopped"
}

# maven_classpath POM NAME : resolve POM's dependencies into the cache (once per POM content) and print
# the classpath.
maven_classpath() {
    local pom=$1 dir
    dir=$CACHE_DIR/$2-$(sha256sum "$pom" | cut -c1-12)
    if [ ! -f "$dir/.complete" ]; then
        log "resolving $(basename "$(dirname "$pom")") jars from Maven Central into $dir"
        rm -rf "$dir" && mkdir -p "$dir"
        mvn -q -B -Dstyle.color=never ${IMGJOB_MAVEN_REPO:+-Dmaven.repo.local="$IMGJOB_MAVEN_REPO"} \
            -f "$pom" dependency:copy-dependencies -DoutputDirectory="$dir" >&2 \
            || die "mvn could not resolve $pom"
        touch "$dir/.complete"
    fi
    printf '%s/*' "$dir"
}
