"""The deployment files as the tests of test_deployment_*.py read them: the Dockerfile's stages, and k8s/
rendered as an operator would deploy it.

Each overlay is built with the pinned kustomize (scripts/tools/kustomize.sh, built once from the Go module
proxy) from a copy of k8s/ in which secret.env is made from secret.env.example, as k8s/README.md says;
`prod+keda` is prod with the KEDA component added the way that README says to add it.
"""

from __future__ import annotations

import re
import secrets
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.cli import WORKERS
from tests.infra import unavailable

ROOT = Path(__file__).resolve().parents[2]
KUSTOMIZE = ROOT / "scripts" / "tools" / "kustomize.sh"
OVERLAYS = ("dev", "prod", "prod+keda")
DEPLOYMENTS = ("gateway", *WORKERS)
Manifests = dict[str, list[dict[str, Any]]]
Instructions = list[tuple[str, str]]


def instructions() -> Instructions:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined, comments dropped."""
    lines: Instructions = []
    pending = ""
    for raw in (ROOT / "Dockerfile").read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        pending = f"{pending} {line}" if pending else line
        if pending.endswith("\\"):
            pending = pending[:-1].rstrip()
            continue
        keyword, _, rest = pending.partition(" ")
        lines.append((keyword.upper(), rest.strip()))
        pending = ""
    return lines


def stages() -> dict[str, Instructions]:
    """Each build stage's instructions by its name, after the global ARGs' defaults fill in FROM."""
    args: dict[str, str] = {}
    found: dict[str, Instructions] = {}
    current: Instructions | None = None
    for keyword, rest in instructions():
        if keyword == "ARG" and current is None:
            name, _, default = rest.partition("=")
            args[name] = default
        elif keyword == "FROM":
            image, _, name = re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], rest).partition(" AS ")
            current = found.setdefault(name.strip(), [("FROM", image.strip())])
        elif current is not None:
            current.append((keyword, rest))
    return found


def env(stage: Instructions) -> dict[str, str]:
    values: dict[str, str] = {}
    for keyword, rest in stage:
        if keyword == "ENV":
            values.update(item.split("=", 1) for item in shlex.split(rest))  # type: ignore[misc]
    return values


def prepare(tree: Path) -> dict[str, Path]:
    """Copy k8s/ into `tree` as an operator would fill it in; the directory of each overlay."""
    shutil.copytree(ROOT / "k8s", tree, ignore=shutil.ignore_patterns("secret.env"))
    example = (tree / "secret.env.example").read_text()
    filled = example.replace("IMGJOB_SECRET_KEY=change-me", f"IMGJOB_SECRET_KEY={secrets.token_urlsafe(48)}")
    assert filled != example
    for overlay in ("dev", "prod"):
        (tree / "overlays" / overlay / "secret.env").write_text(filled)
    keda = tree / "overlays" / "prod+keda"
    shutil.copytree(tree / "overlays" / "prod", keda)
    kustomization = (keda / "kustomization.yaml").read_text()
    with_keda = kustomization.replace("  - replicas\n", "  - replicas\n  - ../../components/keda\n", 1)
    assert with_keda != kustomization, "prod's kustomization lists the `replicas` component the README names"
    (keda / "kustomization.yaml").write_text(with_keda)
    return {overlay: tree / "overlays" / overlay for overlay in OVERLAYS}


def build(directory: Path) -> list[dict[str, Any]]:
    result = subprocess.run([KUSTOMIZE, "build", directory], capture_output=True, text=True, timeout=600)
    if result.returncode == 3:  # no Go to build kustomize with
        unavailable(result.stderr.strip())
    assert result.returncode == 0, result.stderr
    return [document for document in yaml.safe_load_all(result.stdout) if document]


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> Manifests:
    directories = prepare(tmp_path_factory.mktemp("deploy") / "k8s")
    return {overlay: build(directory) for overlay, directory in directories.items()}


def of_kind(documents: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    return {document["metadata"]["name"]: document for document in documents if document["kind"] == kind}


def pod_specs(documents: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(workload name, pod spec) of every Deployment and Job."""
    for document in documents:
        if document["kind"] in ("Deployment", "Job"):
            yield document["metadata"]["name"], document["spec"]["template"]["spec"]


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    """A label selector's matchLabels and matchExpressions (In, NotIn, Exists) against `labels`."""
    if any(labels.get(key) != value for key, value in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value, operator = labels.get(expression["key"]), expression["operator"]
        if operator == "In" and value not in expression["values"]:
            return False
        if operator == "NotIn" and value in expression["values"]:
            return False
        if operator == "Exists" and value is None:
            return False
    return True
