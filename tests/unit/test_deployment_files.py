"""The deployment files name commands the `imgjob` entry point really has, and hold no usable secret key."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

import yaml

from services.cli import WORKERS, parser
from shared.config import Settings
from shared.secrets_policy import secret_key_problem

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
    # Built in the master, a refused setting stops gunicorn with status 2 before any worker starts.
    assert "--preload" in command and "--preload" in compose["services"]["gateway"]["entrypoint"]


def test_compose_runs_each_service_with_a_real_command() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name in (*WORKERS, "migrate"):
        assert compose[name]["command"] == [name]
        assert runs(name)


# Where a deployment file could hold IMGJOB_SECRET_KEY: an env map (compose), a Secret's stringData or
# data, a container's env list, and kustomize's env files.
DEPLOYMENT_FILES = sorted([ROOT / "docker-compose.yml", *(ROOT / "k8s").glob("*.yaml")])
# k8s/secret.env is an operator's own file (git-ignored), not part of the repository.
ENV_FILES = sorted(path for path in (ROOT / "k8s").glob("*.env*") if path.name != "secret.env")


def _literal_keys(node: object) -> list[str]:
    """Every IMGJOB_SECRET_KEY value written in a parsed YAML document (not one read from elsewhere)."""
    found: list[str] = []
    if isinstance(node, dict):
        for name, value in node.items():
            if name == "IMGJOB_SECRET_KEY" and not isinstance(value, (dict, list)):
                found.append("" if value is None else str(value))
            if name == "data" and isinstance(value, dict) and isinstance(value.get("IMGJOB_SECRET_KEY"), str):
                found.append(base64.b64decode(value["IMGJOB_SECRET_KEY"]).decode())
            found += _literal_keys(value)
        if node.get("name") == "IMGJOB_SECRET_KEY" and "value" in node:
            found.append(str(node["value"]))
    elif isinstance(node, list):
        for item in node:
            found += _literal_keys(item)
    return found


def _usable(key: str) -> bool:
    """True if imgjob would start on real adapters with `key`. A compose interpolation is no key, unless
    it has a default or an alternative (`${IMGJOB_SECRET_KEY:-...}`, `:+...`): that could be the key."""
    interpolation = re.fullmatch(r"\$\{(\w+)(?::?([-?+])(.*))?\}", key, re.DOTALL)
    if interpolation:
        _, operator, word = interpolation.groups()
        return operator in ("-", "+") and _usable(word)
    return secret_key_problem(Settings(bus_url="amqp://mq/", secret_key=key)) is None


def test_no_deployment_file_holds_a_usable_secret_key() -> None:
    literals = []
    for path in DEPLOYMENT_FILES:
        for doc in yaml.safe_load_all(path.read_text()):
            literals += [(path.name, key) for key in _literal_keys(doc)]
    for path in ENV_FILES:
        for line in path.read_text().splitlines():
            name, _, value = line.partition("=")
            if name.strip() == "IMGJOB_SECRET_KEY":
                literals.append((path.name, value.strip()))
    assert ("secret.env.example", "change-me") in literals  # the example shows the form, and is refused
    assert [(name, key) for name, key in literals if _usable(key)] == []
    assert not (ROOT / "k8s" / "secret.env").exists() or _ignored("k8s/secret.env")


def _ignored(path: str) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0


def test_the_secret_key_comes_from_outside_the_repository() -> None:
    compose_text = (ROOT / "docker-compose.yml").read_text()
    compose = yaml.safe_load(compose_text)
    assert compose["x-imgjob"]["environment"]["IMGJOB_SECRET_KEY"].startswith("${IMGJOB_SECRET_KEY:?")
    assert "${IMGJOB_SECRET_KEY" in compose_text
    assert _ignored(".env") and _ignored("k8s/secret.env") and not _ignored("k8s/secret.env.example")

    kustomization = yaml.safe_load((ROOT / "k8s" / "kustomization.yaml").read_text())
    assert {"name": "imgjob-secret", "envs": ["secret.env"], "type": "Opaque"} in kustomization["secretGenerator"]
    config = list(yaml.safe_load_all((ROOT / "k8s" / "config.yaml").read_text()))
    assert all("IMGJOB_SECRET_KEY" not in {**doc.get("data", {}), **doc.get("stringData", {})} for doc in config)
    # Every container of every workload reads it from the generated Secret.
    containers = [
        container
        for path in DEPLOYMENT_FILES
        if path.parent.name == "k8s"
        for doc in yaml.safe_load_all(path.read_text())
        if doc and doc["kind"] in ("Deployment", "Job")
        for container in doc["spec"]["template"]["spec"]["containers"]
    ]
    assert len(containers) == len(WORKERS) + 2  # the workers, the gateway, migrate
    for container in containers:
        env = {item["name"]: item for item in container.get("env", [])}
        reference = env["IMGJOB_SECRET_KEY"]["valueFrom"]["secretKeyRef"]
        assert reference == {"name": "imgjob-secret", "key": "IMGJOB_SECRET_KEY"}, container["name"]
