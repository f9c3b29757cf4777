"""k8s/, rendered with the pinned kustomize and checked without a cluster: every overlay validates against
the Kubernetes schemas in strict mode, runs commands the CLI has, and locks every pod down."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
from kubernetes_validate import utils as schemas

from services.cli import WORKERS, parser
from services.gateway.app import create_app
from tests.support import embedded_adapters
from tests.unit.deployment_support import (
    DEPLOYMENTS,
    OVERLAYS,
    Manifests,
    matches,
    of_kind,
    pod_specs,
    rendered,
    stages,
)

__all__ = ["rendered"]  # the fixture

# The oldest Kubernetes the manifests are meant for, and the newest whose schemas kubernetes-validate carries.
KUBERNETES_VERSIONS = ("1.30", schemas.latest_version())
CUSTOM_API_GROUPS = ("keda.sh/",)  # checked by reference in test_deployment_k8s_network.py, no schema here


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_manifest_validates_strictly_against_the_kubernetes_schemas(rendered: Manifests, overlay: str) -> None:
    validated = 0
    for document in rendered[overlay]:
        if document["apiVersion"].startswith(CUSTOM_API_GROUPS):
            continue
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(document, version, strict=True)
        validated += 1
    assert validated >= 25
    # Strict: a field Kubernetes does not know is an error, not silently dropped by the API server.
    deployment = of_kind(rendered[overlay], "Deployment")["packager"]
    misspelt = {**deployment, "spec": {**deployment["spec"], "replicaz": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misspelt, KUBERNETES_VERSIONS[0], strict=True)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_workload_runs_a_command_the_image_and_the_cli_have(rendered: Manifests, overlay: str) -> None:
    commands = {
        name: (container.get("command"), container["args"])
        for name, pod in pod_specs(rendered[overlay])
        for container in pod["containers"]
    }
    # The image's entrypoint stays; `gateway` is gunicorn there (tests/unit/test_deployment_image.py).
    assert commands == {
        **{name: (None, [name]) for name in DEPLOYMENTS},
        "imgjob-migrate": (None, ["migrate"]),
    }
    for _, args in commands.values():
        assert parser().parse_args(args).command == args[0]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_runs_non_root_on_a_read_only_root_file_system(rendered: Manifests, overlay: str) -> None:
    user = next(rest for keyword, rest in stages()["runtime"] if keyword == "USER")
    uid, _, gid = user.partition(":")
    for name, pod in pod_specs(rendered[overlay]):
        assert pod["automountServiceAccountToken"] is False, name
        assert pod["securityContext"] == {
            "runAsNonRoot": True,
            "runAsUser": int(uid),  # the image's own user (Dockerfile)
            "runAsGroup": int(gid),
            "fsGroup": int(gid),
            "seccompProfile": {"type": "RuntimeDefault"},
        }, name
        (container,) = pod["containers"]
        assert container["securityContext"] == {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "capabilities": {"drop": ["ALL"]},
        }, name
        # The one writable place, /tmp, is an emptyDir with a size limit.
        (mount,) = container["volumeMounts"]
        assert mount["mountPath"] == "/tmp", name
        volume = next(volume for volume in pod["volumes"] if volume["name"] == mount["name"])
        assert volume["emptyDir"]["sizeLimit"], name
        for bound in ("requests", "limits"):
            assert {"cpu", "memory", "ephemeral-storage"} <= set(container["resources"][bound]), (name, bound)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_is_probed_where_it_serves_its_health(rendered: Manifests, overlay: str) -> None:
    settings = next(iter(of_kind(rendered[overlay], "ConfigMap").values()))["data"]
    assert settings["IMGJOB_OPS_HOST"] == "0.0.0.0"  # so the kubelet and Prometheus reach the ops port
    for name, deployment in of_kind(rendered[overlay], "Deployment").items():
        pod = deployment["spec"]["template"]
        (container,) = pod["spec"]["containers"]
        ports = {port["name"]: port["containerPort"] for port in container["ports"]}
        expected = 8000 if name == "gateway" else int(settings["IMGJOB_OPS_PORT"])
        probes = {kind: container[kind]["httpGet"] for kind in ("readinessProbe", "livenessProbe", "startupProbe")}
        assert probes["readinessProbe"]["path"] == "/readyz", name
        assert probes["livenessProbe"]["path"] == probes["startupProbe"]["path"] == "/healthz", name
        assert {ports[probe["port"]] for probe in probes.values()} == {expected}, name
        assert pod["metadata"]["annotations"]["prometheus.io/port"] == str(expected), name


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_deployment_has_a_disruption_budget_and_the_gateway_an_autoscaler(
    rendered: Manifests, overlay: str
) -> None:
    documents = rendered[overlay]
    deployments = of_kind(documents, "Deployment")
    assert set(deployments) == set(DEPLOYMENTS)
    budgets = of_kind(documents, "PodDisruptionBudget").values()
    for name, deployment in deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert matches(deployment["spec"]["selector"], labels), name
        covering = [budget for budget in budgets if matches(budget["spec"]["selector"], labels)]
        assert len(covering) == 1 and covering[0]["spec"]["maxUnavailable"] == 1, name
    (autoscaler,) = of_kind(documents, "HorizontalPodAutoscaler").values()
    assert autoscaler["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gateway"}
    assert 1 <= autoscaler["spec"]["minReplicas"] < autoscaler["spec"]["maxReplicas"]
    # The autoscalers own the counts: a fixed one in the manifest would reset them on every apply.
    scaled = {"gateway", *(WORKERS if overlay == "prod+keda" else ())}
    assert [name for name in scaled if "replicas" in deployments[name]["spec"]] == []
    assert all(deployments[name]["spec"]["replicas"] >= 1 for name in set(DEPLOYMENTS) - scaled)


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateway_is_reached_through_its_service_and_ingress(rendered: Manifests, overlay: str) -> None:
    documents = rendered[overlay]
    gateway = of_kind(documents, "Deployment")["gateway"]["spec"]["template"]
    (service,) = of_kind(documents, "Service").values()
    assert matches({"matchLabels": service["spec"]["selector"]}, gateway["metadata"]["labels"])
    (port,) = service["spec"]["ports"]
    assert port["targetPort"] in {p["name"] for p in gateway["spec"]["containers"][0]["ports"]}
    (ingress,) = of_kind(documents, "Ingress").values()
    (rule,) = ingress["spec"]["rules"]
    for path in rule["http"]["paths"]:
        assert path["backend"]["service"] == {"name": service["metadata"]["name"], "port": {"name": port["name"]}}
    settings = next(iter(of_kind(documents, "ConfigMap").values()))["data"]
    assert settings["IMGJOB_PUBLIC_URL"] == f"https://{rule['host']}"  # links in emails lead here
    assert settings["IMGJOB_PROXY_HOPS"] == "1"  # the ingress controller's X-Forwarded-For is trusted


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_ingress_routes_every_public_page_and_no_operator_endpoint(
    rendered: Manifests, overlay: str, tmp_path: Path
) -> None:
    (ingress,) = of_kind(rendered[overlay], "Ingress").values()
    (rule,) = ingress["spec"]["rules"]

    def routed(path: str) -> bool:
        for entry in rule["http"]["paths"]:
            prefix = entry["path"].rstrip("/")
            if entry["pathType"] == "Exact" and path == entry["path"]:
                return True
            if entry["pathType"] == "Prefix" and (path == prefix or path.startswith(prefix + "/")):
                return True
        return False

    adapters = embedded_adapters(tmp_path)
    try:
        app = create_app(adapters)
    finally:
        adapters.close()
    paths = {rule.rule.split("<")[0].rstrip("/") or "/" for rule in app.url_map.iter_rules()}
    operator = {"/healthz", "/readyz", "/metrics"}
    assert operator <= paths
    assert [path for path in sorted(paths - operator) if not routed(path)] == []
    assert [path for path in sorted(operator) if routed(path)] == []


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_container_reads_the_settings_and_the_generated_secret(rendered: Manifests, overlay: str) -> None:
    documents = rendered[overlay]
    (config_map,) = of_kind(documents, "ConfigMap")
    (secret,) = of_kind(documents, "Secret")
    assert config_map.startswith("imgjob-settings-") and secret.startswith("imgjob-secret-")  # hashed: rolls pods
    namespace = next(iter(of_kind(documents, "Namespace")))
    assert {document["metadata"].get("namespace", namespace) for document in documents} == {namespace}
    for name, pod in pod_specs(documents):
        (container,) = pod["containers"]
        assert container["envFrom"] == [{"configMapRef": {"name": config_map}}, {"secretRef": {"name": secret}}]
        assert container["image"].startswith("registry.example.com/imgjob:"), name


def test_the_migrate_job_retries_and_cleans_up(rendered: Manifests) -> None:
    for overlay in OVERLAYS:
        (job,) = of_kind(rendered[overlay], "Job").values()
        assert job["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"
        assert job["spec"]["backoffLimit"] >= 3 and job["spec"]["ttlSecondsAfterFinished"] > 0


def test_the_namespace_enforces_the_restricted_pod_security_standard(rendered: Manifests) -> None:
    namespaces: dict[str, Any] = {
        overlay: next(iter(of_kind(rendered[overlay], "Namespace").values())) for overlay in OVERLAYS
    }
    assert {overlay: ns["metadata"]["name"] for overlay, ns in namespaces.items()} == {
        "dev": "imgjob-dev",
        "prod": "imgjob",
        "prod+keda": "imgjob",
    }
    for namespace in namespaces.values():
        assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
