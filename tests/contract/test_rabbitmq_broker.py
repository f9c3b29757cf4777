"""The broker runs with the settings imgjob relies on, locally (scripts/infra/rabbitmq.sh) and in
docker-compose.yml alike."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from tests.infra import infra_kind, require_reachable, unavailable

REPO = Path(__file__).resolve().parents[2]
SETTING = "dead_letter_worker_publisher_confirm_timeout"
EXPECTED_MS = 10_000


def test_compose_and_the_local_broker_retry_dead_letter_hops_within_ten_seconds() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    arguments = compose["services"]["rabbitmq"]["environment"]["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"]
    assert arguments == f"-rabbit {SETTING} {EXPECTED_MS}"
    script = (REPO / "scripts/infra/rabbitmq.sh").read_text()
    assert re.search(rf"^DLX_RETRY_MS={EXPECTED_MS}$", script, re.MULTILINE)


def test_the_running_broker_has_the_setting() -> None:
    """After a restart, the delay ladder's expired messages wait this long for a hop that failed (the
    next queue still starting), not the default three minutes."""
    require_reachable("bus")
    if infra_kind() != "local":
        unavailable("the broker's settings are read with the local node's rabbitmqctl")
    answer = subprocess.run(
        [str(REPO / "scripts/infra/rabbitmq.sh"), "ctl", "eval", f"application:get_env(rabbit, {SETTING})."],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert answer.returncode == 0, answer.stderr
    assert answer.stdout.strip() == f"{{ok,{EXPECTED_MS}}}"
