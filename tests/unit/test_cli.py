"""The command line as a process: a worker started before `imgjob migrate` creates nothing and waits;
an invalid setting stops it with status 2 naming the variable; dead letters can be listed."""

from __future__ import annotations

import secrets
import signal
import subprocess
import sys
from pathlib import Path

from tests.support import embedded_environment, wait_until


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    # Ops port 0: workers of parallel tests never contend for the default one.
    return embedded_environment(
        tmp_path, IMGJOB_SECRET_KEY=secrets.token_urlsafe(48), **{"IMGJOB_OPS_PORT": "0"} | extra
    )


def _imgjob(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "services.cli", *args]
    return subprocess.run(
        command, cwd=tmp_path, env=_env(tmp_path, **extra), capture_output=True, text=True, timeout=60
    )


def test_a_worker_started_before_migrate_creates_nothing_and_says_to_migrate(tmp_path: Path) -> None:
    log = tmp_path / "janitor.log"
    with open(log, "wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "janitor"],
            cwd=tmp_path,
            env=_env(tmp_path),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: "imgjob migrate" in log.read_text(), timeout=30, what="the worker to ask for migrate")
        assert worker.poll() is None  # waiting, not crashing in a restart loop
        assert not (tmp_path / "var" / "imgjob.sqlite3").exists()
        assert not (tmp_path / "var" / "blobs").exists()
        migrated = _imgjob(tmp_path, "migrate")
        assert migrated.returncode == 0, migrated.stderr
        assert (tmp_path / "var" / "imgjob.sqlite3").exists() and (tmp_path / "var" / "blobs").is_dir()
        wait_until(lambda: "janitor started" in log.read_text(), timeout=30, what="the worker to start once migrated")
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0


def test_an_invalid_setting_stops_a_command_with_status_2_naming_it(tmp_path: Path) -> None:
    result = _imgjob(tmp_path, "migrate", IMGJOB_LINK_TTL="a day")
    assert result.returncode == 2
    assert "IMGJOB_LINK_TTL" in result.stderr and "a day" in result.stderr
    unknown = _imgjob(tmp_path, "migrate", IMGJOB_BUS_URL="kafka://somewhere")
    assert unknown.returncode == 2 and "IMGJOB_BUS_URL" in unknown.stderr


def test_deadletters_on_the_embedded_bus_list_nothing_and_replay_asks_for_an_id(tmp_path: Path) -> None:
    listed = _imgjob(tmp_path, "deadletters", "list")
    assert listed.returncode == 0 and listed.stdout == "" and "0 dead letter(s)" in listed.stderr
    assert _imgjob(tmp_path, "deadletters", "replay").returncode == 2
    assert _imgjob(tmp_path, "deadletters", "replay", "no-such-id").returncode == 1
