"""k8s/: who may talk to whom (NetworkPolicies), KEDA's scaling on the right queues, and settings that exist
and that the adapters accept."""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import urlsplit

import pytest

from services.cli import WORKERS
from shared import events
from shared.adapters.cassandra.schema import parse_cassandra_url
from shared.adapters.rabbitmq.connection import validate_url
from shared.adapters.s3.blobs import S3Location
from shared.adapters.smtp.mailer import SmtpMailer
from shared.config import SETTINGS, Settings
from shared.secrets_policy import secret_key_problem
from tests.unit.deployment_support import DEPLOYMENTS, OVERLAYS, ROOT, Manifests, matches, of_kind, rendered

__all__ = ["rendered"]  # the fixture

DEPENDENCY_NAMESPACES = {"data", "browsers", "mail"}
Peer = tuple[str, int]  # (namespace, or "web" for the internet, or "dns"; port)


def env_file(path: str) -> dict[str, str]:
    lines = (ROOT / "k8s" / path).read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))  # type: ignore[misc]


def egress(policies: list[dict[str, Any]], labels: dict[str, str]) -> set[Peer]:
    """Where the NetworkPolicies let a pod with `labels` connect."""
    allowed: set[Peer] = set()
    for policy in policies:
        if not matches(policy["spec"]["podSelector"], labels):
            continue
        for rule in policy["spec"].get("egress", []):
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    # The internet, without the private ranges the packager's guard refuses too.
                    assert peer["ipBlock"]["cidr"] in ("0.0.0.0/0", "::/0")
                    assert "10.0.0.0/8" in peer["ipBlock"]["except"] or "fc00::/7" in peer["ipBlock"]["except"]
                    where = "web"
                elif peer.get("podSelector") == {"matchLabels": {"k8s-app": "kube-dns"}}:
                    where = "dns"
                else:
                    where = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                allowed |= {(where, port["port"]) for port in rule["ports"]}
    return allowed


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_pod_reaches_only_what_it_uses(rendered: Manifests, overlay: str) -> None:
    documents = rendered[overlay]
    policies = list(of_kind(documents, "NetworkPolicy").values())
    deny = [p for p in policies if p["spec"]["podSelector"] == {} and "ingress" not in p["spec"]]
    assert [p["spec"]["policyTypes"] for p in deny if "egress" not in p["spec"]] == [["Ingress", "Egress"]]
    # Every process checks the bus, the store and the blobs; each port is the one its URL names.
    secret, settings = env_file("secret.env.example"), env_file("base/settings.env")
    urls = {name: urlsplit(secret[f"IMGJOB_{name}_URL"]) for name in ("BUS", "STORE", "BLOB", "SMTP")}
    grid = urlsplit(settings["IMGJOB_BROWSER_URL"])
    common = {("dns", 53)} | {
        (url.hostname.rpartition(".")[2], url.port) for name, url in urls.items() if name != "SMTP"
    }
    expected = {name: common for name in (*DEPLOYMENTS, "migrate")}
    expected["scraper"] = common | {(grid.hostname.rpartition(".")[2], grid.port)}
    smtp = urls["SMTP"]
    expected["notifier"] = common | {(smtp.hostname.rpartition(".")[2], port) for port in (smtp.port, 465, 587)}
    expected["packager"] = common | {("web", 80), ("web", 443)}  # the images themselves
    expected["webhooks"] = common | {("web", 80), ("web", 443)}  # the receivers of webhook deliveries
    pods = {
        name.removeprefix("imgjob-"): document["spec"]["template"]["metadata"]["labels"]
        for name, document in {**of_kind(documents, "Deployment"), **of_kind(documents, "Job")}.items()
    }
    assert {name: egress(policies, labels) for name, labels in pods.items()} == expected
    assert {where for peers in expected.values() for where, _ in peers} == {"dns", "web", *DEPENDENCY_NAMESPACES}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_the_gateway_takes_traffic_from_the_ingress_and_metrics_only_prometheus(
    rendered: Manifests, overlay: str
) -> None:
    documents = rendered[overlay]
    policies = of_kind(documents, "NetworkPolicy").values()
    for name, deployment in of_kind(documents, "Deployment").items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        sources = {
            (peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"], port["port"])
            for policy in policies
            if matches(policy["spec"]["podSelector"], labels)
            for rule in policy["spec"].get("ingress", [])
            for peer in rule["from"]
            for port in rule["ports"]
        }
        ingress = {("ingress-nginx", 8000)} if name == "gateway" else set()
        assert sources == ingress | {("monitoring", 8000), ("monitoring", 9100)}, name


def test_keda_scales_each_worker_on_its_own_queue_with_the_bus_credentials(rendered: Manifests) -> None:
    documents = rendered["prod+keda"]
    assert not any(d["apiVersion"].startswith("keda.sh/") for o in ("dev", "prod") for d in rendered[o])
    scaled = of_kind(documents, "ScaledObject")
    assert set(scaled) == set(WORKERS)
    (authentication,) = of_kind(documents, "TriggerAuthentication").values()
    (secret,) = of_kind(documents, "Secret")
    # The generated Secret's hashed name reached it (k8s/components/keda/name-references.yaml).
    assert authentication["spec"]["secretTargetRef"] == [{"parameter": "host", "name": secret, "key": "IMGJOB_BUS_URL"}]
    deployments = of_kind(documents, "Deployment")
    for name, scaler in scaled.items():
        assert scaler["spec"]["scaleTargetRef"] == {"name": name} and name in deployments
        assert scaler["metadata"]["namespace"] == deployments[name]["metadata"]["namespace"]
        assert 1 <= scaler["spec"]["minReplicaCount"] < scaler["spec"]["maxReplicaCount"]
        (trigger,) = scaler["spec"]["triggers"]
        assert trigger["type"] == "rabbitmq"
        assert trigger["metadata"]["queueName"] == getattr(events, f"QUEUE_{name.upper()}")
        assert trigger["metadata"]["mode"] == "QueueLength" and int(trigger["metadata"]["value"]) >= 1
        assert trigger["authenticationRef"] == {"name": authentication["metadata"]["name"]}

    # Apart from KEDA's resources and the replica counts it takes over, prod+keda is prod.
    def comparable(docs: list[dict[str, Any]]) -> list[Any]:
        return sorted(
            str({**d, "spec": {k: v for k, v in d.get("spec", {}).items() if k != "replicas"}})
            for d in docs
            if not d["apiVersion"].startswith("keda.sh/")
        )

    assert comparable(documents) == comparable(rendered["prod"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_real_settings_are_named_and_the_examples_are_accepted(rendered: Manifests, overlay: str) -> None:
    names = {setting.name for setting in SETTINGS}
    (config_map,) = of_kind(rendered[overlay], "ConfigMap").values()
    secret_example = env_file("secret.env.example")
    (secret,) = of_kind(rendered[overlay], "Secret").values()
    assert set(secret["data"]) == set(secret_example)
    named = set(config_map["data"]) | set(secret_example)
    for document in rendered[overlay]:
        for container in document.get("spec", {}).get("template", {}).get("spec", {}).get("containers", []):
            named |= {item["name"] for item in container.get("env", []) if item["name"].startswith("IMGJOB_")}
    assert {name for name in named if name.startswith("IMGJOB_")} == named
    assert named <= names, f"not settings (shared/config.py): {sorted(named - names)}"
    # With a real key in place of the placeholder, every setting parses and every address is one the
    # adapters take; the placeholder itself is refused.
    key = secrets.token_urlsafe(48)
    settings = Settings.from_env({**config_map["data"], **secret_example, "IMGJOB_SECRET_KEY": key})
    assert secret_key_problem(settings) is None
    assert secret_key_problem(Settings.from_env({**config_map["data"], **secret_example})) is not None
    validate_url(settings.bus_url)
    assert parse_cassandra_url(settings.store_url).replication == 3
    assert S3Location.parse(settings.blob_url).bucket == "imgjob"
    assert settings.smtp_url and SmtpMailer(settings.smtp_url, settings.mail_sender)
    assert settings.browser_url.startswith("http://")
