"""The deployment files name commands the `imgjob` entry point really has."""

from __future__ import annotations

from pathlib import Path

import yaml

from services.cli import WORKERS, parser

ROOT = Path(__file__).resolve().parents[2]


def runs(command: str) -> bool:
    """True if `imgjob COMMAND` parses (argparse exits on an unknown command)."""
    try:
        return parser().parse_args([command]).command == command
    except SystemExit:
        return False


def test_every_worker_has_a_kubernetes_deployment_running_its_command() -> None:
    docs = list(yaml.safe_load_all((ROOT / "k8s" / "workers.yaml").read_text()))
    commands = {doc["metadata"]["name"]: doc["spec"]["template"]["spec"]["containers"][0]["args"] for doc in docs}
    assert commands == {name: [name] for name in WORKERS}
    assert all(runs(name) for name in WORKERS)
    assert not runs("nonsense")


def test_the_gateway_runs_the_app_factory_under_gunicorn_everywhere() -> None:
    gateway = yaml.safe_load_all((ROOT / "k8s" / "gateway.yaml").read_text())
    deployment = next(doc for doc in gateway if doc["kind"] == "Deployment")
    command = deployment["spec"]["template"]["spec"]["containers"][0]["command"]
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert command[-1] == compose["services"]["gateway"]["entrypoint"][-1] == "services.wsgi:create_app()"


def test_compose_runs_each_service_with_a_real_command() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in (*WORKERS, "migrate"):
        assert compose[name]["command"] == [name]
        assert runs(name)
