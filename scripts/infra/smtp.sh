#!/usr/bin/env bash
# A real SMTP server that keeps every message it receives (aiosmtpd, in a Maildir under var/infra).
source "$(dirname "$0")/lib.sh"
DIR=$INFRA_DIR/smtp
PORT=${IMGJOB_SMTP_PORT:-1025}

smtp_ready() {
    "$VENV_BIN/python" - "$PORT" <<'PY'
import smtplib, sys
with smtplib.SMTP("127.0.0.1", int(sys.argv[1]), timeout=3) as smtp:
    assert smtp.noop()[0] == 250
PY
}

up() {
    if port_open "$PORT" && smtp_ready; then log "smtp already answers on 127.0.0.1:$PORT"; return 0; fi
    [ -x "$VENV_BIN/python" ] || die "no .venv: run make install first"
    "$VENV_BIN/python" -c "import aiosmtpd" 2>/dev/null || "$VENV_BIN/pip" install -q aiosmtpd
    mkdir -p "$DIR/maildir/cur" "$DIR/maildir/new" "$DIR/maildir/tmp"
    log "starting smtp capture on 127.0.0.1:$PORT"
    start_daemon smtp "$DIR/smtp.log" "$VENV_BIN/python" -m aiosmtpd -n -l "127.0.0.1:$PORT" \
        -c aiosmtpd.handlers.Mailbox "$DIR/maildir"
    wait_for 30 "smtp" smtp_ready
    log "smtp: smtp://127.0.0.1:$PORT (messages kept in $DIR/maildir)"
}

down() { stop_daemon smtp; }

"${1:-up}"
