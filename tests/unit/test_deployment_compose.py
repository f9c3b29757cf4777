"""docker-compose.yml, checked without a Docker engine: it is valid by the Compose specification's schema,
names only real settings and commands, health-checks every long-running container, starts the services
after a successful migration, publishes only what a person opens, and is what the tests' containers are
made from (tests/infra_containers.py)."""

from __future__ import annotations

import json
import re
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest

from services.cli import WORKERS, parser
from shared.config import SETTINGS
from tests import infra, infra_containers
from tests.infra import unavailable
from tests.unit.deployment_support import ROOT

SETTING_NAMES = {setting.name for setting in SETTINGS}
IMGJOB_SERVICES = ("migrate", "gateway", *WORKERS)
INFRASTRUCTURE = ("rabbitmq", "cassandra", "minio", "mailpit", "selenium-hub", "chromium")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return infra_containers.compose_file()


def compose_schema() -> dict[str, Any]:
    """The Compose specification's JSON schema, as check-jsonschema (dev extras) ships it: nothing fetched."""
    try:
        schema = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    except ModuleNotFoundError:
        unavailable("no check-jsonschema: `make install` installs the dev extras, which carry the Compose schema")
    document: dict[str, Any] = json.loads(schema.read_text())
    return document


def test_the_file_is_valid_by_the_compose_specification(compose: dict[str, Any]) -> None:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    assert [error.message for error in validator.iter_errors(compose)] == []
    misspelt = {**compose, "services": {**compose["services"], "gateway": {**compose["services"]["gateway"]}}}
    misspelt["services"]["gateway"]["healthchek"] = compose["services"]["gateway"]["healthcheck"]
    assert any("healthchek" in error.message for error in validator.iter_errors(misspelt))


def test_only_real_settings_are_named(compose: dict[str, Any]) -> None:
    # Every name in what compose reads (not its comments): environment keys and ${...} interpolations alike.
    named = set(re.findall(r"\bIMGJOB_[A-Z0-9_]+", json.dumps(compose)))
    assert {"IMGJOB_SECRET_KEY", "IMGJOB_BUS_URL", "IMGJOB_OPS_HOST"} <= named
    assert named <= SETTING_NAMES, f"not settings (shared/config.py): {sorted(named - SETTING_NAMES)}"
    for name in IMGJOB_SERVICES:
        environment = compose["services"][name]["environment"]
        assert {key for key in environment if key.startswith("IMGJOB_")} <= SETTING_NAMES


def test_each_imgjob_service_runs_a_command_the_cli_has_from_the_one_image(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {name: services[name]["command"] for name in IMGJOB_SERVICES} == {n: [n] for n in IMGJOB_SERVICES}
    for name in IMGJOB_SERVICES:
        assert parser().parse_args(services[name]["command"]).command == name
        assert services[name]["build"] == "." and services[name]["image"] == services["gateway"]["image"]
        assert services[name]["read_only"] is True and "/tmp" in services[name]["tmpfs"][0]
        assert services[name]["cap_drop"] == ["ALL"]
    assert set(services) == {*IMGJOB_SERVICES, *INFRASTRUCTURE}


def test_every_long_running_container_is_health_checked(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name == "migrate":  # a one-shot: judged by its exit status
            assert service["restart"] == "no" and service["healthcheck"] == {"disable": True}
            continue
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name
        assert service["restart"] == "unless-stopped", name
    workers = [compose["services"][name]["healthcheck"]["test"] for name in WORKERS]
    port = compose["x-imgjob"]["environment"]["IMGJOB_OPS_PORT"]
    assert all(f"127.0.0.1:{port}/readyz" in " ".join(test) for test in workers)
    assert "127.0.0.1:8000/readyz" in " ".join(compose["services"]["gateway"]["healthcheck"]["test"])


def test_services_wait_for_what_they_need(compose: dict[str, Any]) -> None:
    healthy, done = {"condition": "service_healthy"}, {"condition": "service_completed_successfully"}
    migrated = {"migrate": done}
    expected = {
        "chromium": {"selenium-hub": {"condition": "service_started"}},  # the hub is healthy once a node joined
        "migrate": {"rabbitmq": healthy, "cassandra": healthy, "minio": healthy},
        **{name: migrated for name in ("gateway", "scheduler", "packager", "janitor", "webhooks")},
        "scraper": {**migrated, "selenium-hub": healthy},
        "notifier": {**migrated, "mailpit": healthy},
    }
    services = compose["services"]
    assert {name: service["depends_on"] for name, service in services.items() if "depends_on" in service} == expected
    for needs in expected.values():
        for needed, condition in needs.items():
            if condition == healthy:
                assert "test" in services[needed]["healthcheck"], needed


def test_state_lives_in_named_volumes(compose: dict[str, Any]) -> None:
    mounts = {
        name: [volume.split(":")[0] for volume in service.get("volumes", [])]
        for name, service in compose["services"].items()
    }
    for name in ("rabbitmq", "cassandra", "minio", "mailpit"):
        assert len(mounts[name]) == 1 and mounts[name][0] in compose["volumes"], name
    assert sorted(volume for names in mounts.values() for volume in names) == sorted(compose["volumes"])


def test_cassandra_runs_the_paxos_variant_the_local_node_was_measured_on(compose: dict[str, Any]) -> None:
    local = (ROOT / "scripts" / "infra" / "cassandra.sh").read_text()
    assert re.search(r"^paxos_variant: v2$", local, re.MULTILINE)
    options = compose["services"]["cassandra"]["environment"]["JVM_EXTRA_OPTS"].split()
    # Cassandra 5.0 ignores the setting's property unless system properties are allowed to set it.
    assert {"-Dcassandra.config.allow_system_properties=true", "-Dcassandra.settings.paxos_variant=v2"} <= set(options)


def test_only_what_a_person_opens_is_published(compose: dict[str, Any]) -> None:
    published = {name: service["ports"] for name, service in compose["services"].items() if "ports" in service}
    # The form for anyone who can reach this machine; the mail and the broker's UI for this machine alone.
    assert published == {
        "gateway": ["8000:8000"],
        "mailpit": ["127.0.0.1:8025:8025"],
        "rabbitmq": ["127.0.0.1:15672:15672"],
    }


def test_the_secret_key_comes_from_dot_env_and_compose_refuses_to_start_without_it(compose: dict[str, Any]) -> None:
    env_files = compose["x-imgjob"]["env_file"]
    assert env_files == [{"path": ".env", "required": False}]
    for name in IMGJOB_SERVICES:
        key = compose["services"][name]["environment"]["IMGJOB_SECRET_KEY"]
        assert re.fullmatch(r"\$\{IMGJOB_SECRET_KEY:\?[^}]+\}", key), name


def test_the_adapters_point_at_the_compose_services_with_their_credentials(compose: dict[str, Any]) -> None:
    environment = compose["x-imgjob"]["environment"]
    hosts = {variable: urlsplit(environment[variable]).hostname for variable in infra_containers.SETTINGS.values()}
    hosts.update(
        {
            "IMGJOB_SMTP_URL": urlsplit(environment["IMGJOB_SMTP_URL"]).hostname,
            "IMGJOB_BROWSER_URL": urlsplit(environment["IMGJOB_BROWSER_URL"]).hostname,
        }
    )
    assert set(hosts.values()) <= set(compose["services"]), hosts
    bus, blobs = urlsplit(environment["IMGJOB_BUS_URL"]), urlsplit(environment["IMGJOB_BLOB_URL"])
    rabbitmq = compose["services"]["rabbitmq"]["environment"]
    minio = compose["services"]["minio"]["environment"]
    assert (bus.username, bus.password) == (rabbitmq["RABBITMQ_DEFAULT_USER"], rabbitmq["RABBITMQ_DEFAULT_PASS"])
    assert (blobs.username, blobs.password) == (minio["MINIO_ROOT_USER"], minio["MINIO_ROOT_PASSWORD"])


@pytest.mark.parametrize("port", sorted(infra_containers.SETTINGS))
def test_the_tests_containers_are_the_compose_services(compose: dict[str, Any], port: str) -> None:
    container = infra_containers.spec(port)
    service = compose["services"][container.service]
    assert container.image == service["image"] and ":" in container.image
    assert container.environment == {key: str(value) for key, value in (service.get("environment") or {}).items()}
    assert list(container.command) == (service.get("command") or [])
    assert container.healthcheck == infra_containers.healthcheck_argv(service["healthcheck"]["test"])
    assert container.ready_within >= 60
    # At the compose service's own name and port, the URL is the one compose gives imgjob; elsewhere only
    # the address changes, the credentials, keyspace, bucket and options stay.
    url = compose["x-imgjob"]["environment"][infra_containers.SETTINGS[port]]
    assert infra_containers.address(container, container.service, container.port) == url
    moved = urlsplit(infra_containers.address(container, "localhost", 32768))
    original = urlsplit(url)
    assert (moved.hostname, moved.port) == ("localhost", 32768)
    assert (moved.scheme, moved.username, moved.password, moved.path, moved.query) == (
        original.scheme,
        original.username,
        original.password,
        original.path,
        original.query,
    )
    # The local processes (scripts/infra) serve the same keyspace, bucket and vhost.
    local = urlsplit(infra.DEFAULT_URLS[port][2])
    assert (local.scheme, local.path, local.query) == (original.scheme, original.path, original.query)


def test_the_containers_path_reads_health_checks_and_durations_as_compose_does() -> None:
    assert infra_containers.healthcheck_argv(["CMD", "mc", "ready", "local"]) == ("mc", "ready", "local")
    assert infra_containers.healthcheck_argv(["CMD-SHELL", "cqlsh -e 'x'"]) == ("sh", "-c", "cqlsh -e 'x'")
    assert infra_containers.seconds("1m30s") == 90 and infra_containers.seconds("500ms") == 0.5
    with pytest.raises(ValueError):
        infra_containers.seconds("10 seconds")
    with pytest.raises(ValueError):
        infra_containers.healthcheck_argv(["NONE"])


def test_the_test_infrastructure_is_local_unless_containers_are_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("IMGJOB_TEST_INFRA", raising=False)
    assert infra.infra_kind() == "local"
    monkeypatch.setenv("IMGJOB_TEST_INFRA", "containers")
    assert infra.infra_kind() == "containers"
    monkeypatch.setenv("IMGJOB_TEST_INFRA", "docker")
    with pytest.raises(ValueError, match="IMGJOB_TEST_INFRA"):
        infra.infra_kind()
