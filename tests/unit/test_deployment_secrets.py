"""No deployment file holds a usable secret key: docker compose reads it from .env, Kubernetes from an
overlay's secret.env (both git-ignored), and the examples show only placeholders imgjob refuses."""

from __future__ import annotations

import base64
import re
import subprocess

import yaml

from shared.config import Settings
from shared.secrets_policy import secret_key_problem
from tests.unit.deployment_support import ROOT

# Where a deployment file could hold IMGJOB_SECRET_KEY: an env map (compose), a Secret's stringData or
# data, a container's env list, and kustomize's env files.
DEPLOYMENT_FILES = sorted([ROOT / "docker-compose.yml", *(ROOT / "k8s").rglob("*.yaml")])
# An overlay's secret.env is an operator's own file (git-ignored), not part of the repository.
ENV_FILES = sorted(path for path in (ROOT / "k8s").rglob("*.env*") if path.name != "secret.env")


def _literal_keys(node: object) -> list[str]:
    """Every IMGJOB_SECRET_KEY value written in a parsed YAML document (not one read from elsewhere)."""
    found: list[str] = []
    if isinstance(node, dict):
        for name, value in node.items():
            if name == "IMGJOB_SECRET_KEY" and not isinstance(value, (dict, list)):
                found.append("" if value is None else str(value))
            if name == "data" and isinstance(value, dict) and isinstance(value.get("IMGJOB_SECRET_KEY"), str):
                found.append(base64.b64decode(value["IMGJOB_SECRET_KEY"]).decode())
            if name == "literals" and isinstance(value, list):  # kustomize generators' KEY=VALUE
                found += [str(item).partition("=")[2] for item in value if str(item).startswith("IMGJOB_SECRET_KEY=")]
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


def _ignored(path: str) -> bool:
    return subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0


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
    assert not _usable("change-me") and _usable("x7Qm2pL9vR4tK8wZ3nB6yH1cF5dJ0sGa")  # the check can tell


def test_the_secret_files_stay_out_of_git_and_the_examples_in() -> None:
    assert _ignored(".env") and not _ignored(".env.example")
    overlays = sorted(path.name for path in (ROOT / "k8s" / "overlays").iterdir() if path.is_dir())
    assert overlays == ["dev", "prod"]
    for overlay in overlays:
        assert _ignored(f"k8s/overlays/{overlay}/secret.env"), overlay
        kustomization = yaml.safe_load((ROOT / "k8s" / "overlays" / overlay / "kustomization.yaml").read_text())
        (generator,) = kustomization["secretGenerator"]
        assert generator["name"] == "imgjob-secret" and generator["envs"] == ["secret.env"], overlay
    assert not _ignored("k8s/secret.env.example") and not _ignored("k8s/base/settings.env")
    # The ConfigMap's settings are no secret: the key and the addresses with passwords are not among them.
    settings = (ROOT / "k8s" / "base" / "settings.env").read_text()
    assert not re.search(r"^IMGJOB_(SECRET_KEY|BUS_URL|STORE_URL|BLOB_URL|SMTP_URL)=", settings, re.MULTILINE)
