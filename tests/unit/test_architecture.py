"""The layers of README's "Architecture": what may import what, and routing declared once."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from services.bootstrap import WORKERS, build_services
from shared.events import ALL_EVENT_TYPES
from shared.ports import Adapters
from shared.runtime import subscriptions_of

REPO = Path(__file__).resolve().parents[2]
COMPOSITION_ROOT = {"services/bootstrap.py", "services/cli.py", "services/wsgi.py"}
DRIVERS = ("pika", "cassandra", "minio", "flask_mail")
SERVICE_NAMES = sorted(path.name for path in (REPO / "services").iterdir() if (path / "__init__.py").exists())


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(folder: str) -> list[Path]:
    return sorted((REPO / folder).rglob("*.py"))


def _relative(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def test_shared_imports_nothing_from_services() -> None:
    offenders = {
        _relative(path): sorted(name for name in _imports(path) if name.split(".")[0] == "services")
        for path in _modules("shared")
    }
    assert {path: names for path, names in offenders.items() if names} == {}


def test_only_the_composition_root_imports_concrete_adapters() -> None:
    offenders = {}
    for path in _modules("services") + _modules("shared"):
        relative = _relative(path)
        if relative in COMPOSITION_ROOT or relative.startswith("shared/adapters/"):
            continue
        adapters = sorted(name for name in _imports(path) if name.startswith("shared.adapters."))
        if adapters and not all(name.startswith("shared.adapters.store_rules") for name in adapters):
            offenders[relative] = adapters
    assert offenders == {}


def test_a_service_imports_no_other_service() -> None:
    offenders = {}
    for name in SERVICE_NAMES:
        for path in _modules(f"services/{name}"):
            others = {i.split(".")[1] for i in _imports(path) if i.startswith("services.") and i.count(".") >= 1}
            if others - {name}:
                offenders[_relative(path)] = sorted(others - {name})
    assert offenders == {}


def test_the_domain_is_pure_python() -> None:
    allowed_roots = {"__future__", "collections", "dataclasses", "datetime", "enum", "hashlib", "json", "math", "re"}
    allowed_roots |= {"typing", "unicodedata", "urllib", "uuid", "zoneinfo", "shared"}
    # cronsim computes cron times and nothing else (no I/O, pure Python): the rules of when a series
    # runs, DST included, belong to the domain, and reimplementing cron here would be worse.
    allowed_roots |= {"cronsim"}
    for path in _modules("shared/domain"):
        imported = _imports(path)
        assert {name.split(".")[0] for name in imported} <= allowed_roots, _relative(path)
        assert all(not name.startswith("shared.") or name.startswith("shared.domain") for name in imported)


@pytest.mark.parametrize("service", SERVICE_NAMES)
def test_importing_a_services_handlers_imports_no_driver(service: str) -> None:
    module = "commands" if service == "gateway" else "handlers"
    assert (REPO / "services" / service / f"{module}.py").exists()
    probe = (
        f"import sys, services.{service}.{module}; "
        f"print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in {DRIVERS!r})))"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"services.{service}.{module} pulled in {result.stdout.strip()}"


def test_every_event_type_has_a_consumer_and_every_binding_a_handler(adapters: Adapters) -> None:
    services = build_services(adapters)
    assert sorted(service.name for service in services) == sorted(WORKERS)
    subscriptions = subscriptions_of(services)
    bound = {event_type for types in subscriptions.values() for event_type in types}
    assert set(ALL_EVENT_TYPES) <= bound, f"published but never consumed: {set(ALL_EVENT_TYPES) - bound}"
    for service in services:
        for event_type in subscriptions.get(service.queue, ()):
            assert event_type in service.handlers, f"{service.queue} is bound to {event_type} with no handler"
    assert sum(service.dead_letters is not None for service in services) == 1


def test_every_event_published_in_the_code_is_a_known_type() -> None:
    # Events are built by the factories of shared/events.py; no module builds one by hand.
    offenders = []
    for path in _modules("services") + _modules("shared"):
        if _relative(path) == "shared/events.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "Event":
                offenders.append(f"{_relative(path)}:{node.lineno}")
    assert offenders == []
