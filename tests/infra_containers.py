"""Real infrastructure from testcontainers, where a Docker engine exists (IMGJOB_TEST_INFRA=containers).

Each container is started from its service in docker-compose.yml: the same image, environment and command,
ready when the same health check passes inside it, and reached at the URL the compose file gives imgjob,
with the host and port replaced by the container's published ones. The compose file is the one
definition; tests/unit/test_deployment_compose.py checks that what is read here is what compose runs.

The Selenium Grid and the SMTP capture stay local processes even then (scripts/infra/grid.sh, smtp.sh):
the Grid's browser must reach the fake web on this machine's loopback, and the end-to-end tests read the
captured mail from the capture's Maildir.
"""

from __future__ import annotations

import atexit
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yaml

from tests.support.waiting import wait_until

COMPOSE_FILE = Path(__file__).resolve().parents[1] / "docker-compose.yml"
# Which of imgjob's settings, in compose's shared service environment, names each port's service.
SETTINGS = {"bus": "IMGJOB_BUS_URL", "store": "IMGJOB_STORE_URL", "blobs": "IMGJOB_BLOB_URL"}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|us|ns|h|m|s)")
_SECONDS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


@dataclass(frozen=True)
class ContainerSpec:
    """One compose service, as a test starts it."""

    service: str
    image: str
    environment: dict[str, str]
    command: tuple[str, ...]
    url: str  # what imgjob is given in compose, the service's name for its host
    port: int  # the container port in `url`
    healthcheck: tuple[str, ...]  # run inside the container; exit 0 when ready
    ready_within: float  # seconds compose would wait before calling it unhealthy


def compose_file(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(path.read_text())
    return document


def seconds(duration: str) -> float:
    """A compose duration ("1m30s", "500ms") in seconds."""
    parts = _DURATION.findall(duration)
    if not parts or "".join(number + unit for number, unit in parts) != duration:
        raise ValueError(f"not a compose duration: {duration!r}")
    return sum(float(number) * _SECONDS[unit] for number, unit in parts)


def healthcheck_argv(test: list[str] | str) -> tuple[str, ...]:
    """A compose health check's `test` as the command to run in the container."""
    if isinstance(test, str):
        return ("sh", "-c", test)
    kind, *rest = test
    if kind == "CMD":
        return tuple(rest)
    if kind == "CMD-SHELL":
        return ("sh", "-c", " ".join(rest))
    raise ValueError(f"a health check to run, not {test!r}")


def spec(port: str, document: dict[str, Any] | None = None) -> ContainerSpec:
    """The container behind `port` ("bus", "store" or "blobs"), as docker-compose.yml defines it."""
    document = document or compose_file()
    url = str(document["x-imgjob"]["environment"][SETTINGS[port]])
    parts = urlsplit(url)
    if not parts.hostname or not parts.port:
        raise ValueError(f"{SETTINGS[port]} in docker-compose.yml names no service and port: {url!r}")
    service = document["services"][parts.hostname]
    environment = {str(name): str(value) for name, value in (service.get("environment") or {}).items()}
    interpolated = [name for name, value in environment.items() if "${" in value]
    if interpolated:  # a test cannot know what compose would substitute
        raise ValueError(f"{parts.hostname}: interpolated environment in docker-compose.yml: {interpolated}")
    check = service["healthcheck"]
    waits = seconds(check.get("interval", "30s")) + seconds(check.get("timeout", "30s"))
    return ContainerSpec(
        service=parts.hostname,
        image=service["image"],
        environment=environment,
        command=tuple(service.get("command") or ()),
        url=url,
        port=parts.port,
        healthcheck=healthcheck_argv(check["test"]),
        ready_within=seconds(check.get("start_period", "0s")) + check.get("retries", 3) * waits,
    )


def address(container: ContainerSpec, host: str, port: int) -> str:
    """The container's URL from outside it: compose's, at `host:port`, with its credentials and path."""
    parts = urlsplit(container.url)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@{host}:{port}" if userinfo else f"{host}:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


_started: dict[str, str | Exception] = {}


def container_url(port: str) -> str:
    """The URL of `port`'s container, started (once per test process) and ready; stopped at exit.
    A container that failed to start is not tried again by every test: each gets the same error."""
    if port not in _started:
        try:
            _started[port] = _start(spec(port))
        except Exception as exc:
            _started[port] = exc
    outcome = _started[port]
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def _start(container: ContainerSpec) -> str:
    from testcontainers.core.container import DockerContainer

    running = DockerContainer(container.image).with_exposed_ports(container.port)
    for name, value in container.environment.items():
        running = running.with_env(name, value)
    if container.command:
        running = running.with_command(list(container.command))
    running.start()
    atexit.register(running.stop)

    def healthy() -> bool:
        exit_code, _ = running.exec(list(container.healthcheck))
        return exit_code == 0

    wait_until(healthy, timeout=container.ready_within, interval=1.0, what=f"{container.service} to be healthy")
    return address(container, running.get_container_host_ip(), int(running.get_exposed_port(container.port)))
