#!/usr/bin/env bash
# RabbitMQ from Debian's package, as a local node on 127.0.0.1:5672 with its data under var/infra.
source "$(dirname "$0")/lib.sh"
DIR=$INFRA_DIR/rabbitmq
PORT=${IMGJOB_RABBITMQ_PORT:-5672}
export RABBITMQ_NODENAME=imgjob-$PORT@localhost
export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
export RABBITMQ_NODE_PORT=$PORT
export RABBITMQ_DIST_PORT=$((PORT + 20000))
export RABBITMQ_MNESIA_BASE=$DIR/mnesia
export RABBITMQ_LOG_BASE=$DIR/log
export RABBITMQ_CONFIG_FILE=$DIR/rabbitmq
export RABBITMQ_ENABLED_PLUGINS_FILE=$DIR/enabled_plugins
export RABBITMQ_PID_FILE=$DIR/rabbitmq.pid
export ERL_EPMD_ADDRESS=127.0.0.1
export HOME=$DIR  # the Erlang cookie lives here, not in the user's home
# A quorum queue hands an expired message on (the delay ladder's next level) through its dead-letter worker,
# which, when the next hop cannot take it yet (as right after the broker restarts), tries again only after
# this many milliseconds: 180000 by default, which held delayed events up to three minutes after a restart.
# docker-compose.yml sets the same.
DLX_RETRY_MS=10000
export RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-rabbit dead_letter_worker_publisher_confirm_timeout $DLX_RETRY_MS"

up() {
    if port_open "$PORT"; then log "rabbitmq already answers on 127.0.0.1:$PORT"; return 0; fi
    apt_install rabbitmq-server
    mkdir -p "$DIR/log" "$DIR/mnesia"
    echo '[].' > "$RABBITMQ_ENABLED_PLUGINS_FILE"
    cat > "$DIR/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$PORT
loopback_users = none
disk_free_limit.absolute = 200MB
vm_memory_high_watermark.relative = 0.2
CONF
    log "starting rabbitmq on 127.0.0.1:$PORT"
    start_daemon rabbitmq "$DIR/console.log" /usr/lib/rabbitmq/bin/rabbitmq-server
    wait_for 120 "rabbitmq" port_open "$PORT"
    wait_for 60 "rabbitmq (status)" /usr/lib/rabbitmq/bin/rabbitmqctl -q await_startup
    log "rabbitmq: amqp://guest:guest@127.0.0.1:$PORT/%2F (logs in $DIR/log)"
}

down() {
    if pid_alive "$INFRA_DIR/rabbitmq.pid"; then
        /usr/lib/rabbitmq/bin/rabbitmqctl -q stop >/dev/null 2>&1 || true
    fi
    stop_daemon rabbitmq
}

# ctl ARGS...: rabbitmqctl against this node (the benchmarks use it for a vhost of their own and the
# broker's memory figures).
ctl() { /usr/lib/rabbitmq/bin/rabbitmqctl -q "$@"; }

"${1:-up}" "${@:2}"
