#!/usr/bin/env bash
# Selenium Grid 4 standalone from Maven Central, driving Debian's chromium through chromedriver.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)/grid
DIR=$INFRA_DIR/grid
PORT=${IMGJOB_GRID_PORT:-4444}
SESSIONS=${IMGJOB_GRID_SESSIONS:-2}

ready() { curl -fs -m 2 "http://127.0.0.1:$PORT/status" | grep -q '"ready": *true'; }

up() {
    if ready; then log "selenium grid already answers on 127.0.0.1:$PORT"; return 0; fi
    apt_install chromium chromium-driver
    command -v java >/dev/null || apt_install openjdk-17-jre-headless
    command -v mvn >/dev/null || apt_install maven
    local classpath
    classpath=$(maven_classpath "$HERE/pom.xml" selenium-grid-4.41.0)
    mkdir -p "$DIR"
    # Chromium in a closed network: the same flags as the local browser adapter, set on the node so that
    # every session gets them whatever the client asks for.
    cat > "$DIR/config.toml" <<TOML
[server]
host = "127.0.0.1"
port = $PORT

[node]
detect-drivers = false
selenium-manager = false
max-sessions = $SESSIONS
override-max-sessions = true
session-timeout = 300

[[node.driver-configuration]]
display-name = "Chromium"
webdriver-executable = "/usr/bin/chromedriver"
max-sessions = $SESSIONS
stereotype = '{"browserName": "chrome", "platformName": "linux", "goog:chromeOptions": {"binary": "/usr/bin/chromium"}}'
TOML
    log "starting selenium grid on 127.0.0.1:$PORT ($SESSIONS sessions)"
    start_daemon grid "$DIR/grid.log" java -Xmx512m -cp "$classpath" org.openqa.selenium.grid.Main \
        standalone --config "$DIR/config.toml"
    wait_for 120 "selenium grid (/status ready)" ready
    log "selenium grid: http://127.0.0.1:$PORT (log $DIR/grid.log)"
}

down() { stop_daemon grid; }

"${1:-up}"
