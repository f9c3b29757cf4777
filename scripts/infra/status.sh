#!/usr/bin/env bash
# What infra-up started: whether each service runs, and its memory now and at its peak.
source "$(dirname "$0")/lib.sh"
total_rss=0
total_peak=0
printf '%-10s %-8s %10s %10s\n' service pid rss_mb peak_mb
for service in rabbitmq cassandra minio grid smtp; do
    pidfile=$INFRA_DIR/$service.pid
    if ! pid_alive "$pidfile"; then printf '%-10s %-8s\n' "$service" down; continue; fi
    rss=0 peak=0
    # The whole process group: rabbitmq-server's script starts the Erlang VM as a child.
    for pid in $(pgrep -g "$(ps -o pgid= "$(cat "$pidfile")" | tr -d ' ')"); do
        rss=$((rss + $(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)))
        peak=$((peak + $(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)))
    done
    total_rss=$((total_rss + rss)) total_peak=$((total_peak + peak))
    printf '%-10s %-8s %10d %10d\n' "$service" "$(cat "$pidfile")" $((rss / 1024)) $((peak / 1024))
done
printf '%-10s %-8s %10d %10d\n' total "" $((total_rss / 1024)) $((total_peak / 1024))
