"""The published event contract: one JSON Schema (draft 2020-12) per event type and version, in
schemas/events/<type>.v<version>.json, and the check of events against them.

The check runs where events are published (both bus adapters call `check_published`), but only when
the environment variable CHECK_IMGJOB_EVENTS is 1: the test suite turns it on (tests/conftest.py), in
its own process and in every process it starts, so every event any test publishes is checked. It is not
a Setting: production never pays for it, and the image holds neither the schemas nor jsonschema.
(Its name does not start with IMGJOB_, so test helpers that drop the caller's IMGJOB_* settings from a
child's environment keep it.)
"""

from __future__ import annotations

import json
import os
import threading
from functools import cache
from pathlib import Path
from typing import Any

from shared.events import Event

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schemas" / "events"
ENV_VAR = "CHECK_IMGJOB_EVENTS"

_lock = threading.Lock()
_seen: list[str] = []  # violations found by check_published in this process, until taken


class ContractViolation(ValueError):
    """An event that does not match the schema of its type and version."""


def schema_path(event_type: str, version: int) -> Path:
    return SCHEMA_DIR / f"{event_type}.v{version}.json"


def load_schemas() -> dict[str, dict[str, Any]]:
    """Every schema of schemas/events by file name."""
    return {path.name: json.loads(path.read_text()) for path in sorted(SCHEMA_DIR.glob("*.json"))}


@cache
def _validators() -> tuple[Any, dict[str, Any]]:
    # Imported here: jsonschema is a development dependency, needed only while checking.
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    schemas = load_schemas()
    registry: Registry = Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema)) for schema in schemas.values()
    )
    validators = {name: Draft202012Validator(schema, registry=registry) for name, schema in schemas.items()}
    return registry, validators


def problems(document: Any, schema_name: str | None = None) -> list[str]:
    """What is wrong with `document` (an event as JSON data) against its schema, or the named one; [] if nothing."""
    if schema_name is None:
        if not isinstance(document, dict):
            return ["an event is a JSON object"]
        schema_name = schema_path(str(document.get("type")), document.get("version", 0)).name
    validator = _validators()[1].get(schema_name)
    if validator is None:
        return [f"no schema {schema_name} in {SCHEMA_DIR}"]
    return [
        f"{'/'.join(str(part) for part in error.absolute_path) or '(event)'}: {error.message}"
        for error in validator.iter_errors(document)
    ]


def check(event: Event) -> None:
    """Raise ContractViolation unless the event, as it goes on the bus, matches its schema."""
    found = problems(json.loads(event.to_json()))
    if found:
        raise ContractViolation(f"{event.type} v{event.version} breaks its schema: " + "; ".join(found))


def enabled() -> bool:
    return os.environ.get(ENV_VAR) == "1"


def check_published(event: Event) -> None:
    """The bus adapters' hook: when checking is on, refuse (and remember) an event that breaks the contract."""
    if not enabled():
        return
    try:
        check(event)
    except ContractViolation as violation:
        with _lock:
            _seen.append(str(violation))
        raise


def take_violations() -> list[str]:
    """The violations check_published found since the last call (the test suite fails a test on any)."""
    with _lock:
        found = list(_seen)
        _seen.clear()
    return found
