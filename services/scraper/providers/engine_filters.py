"""What a job's filters become on one engine: its own URL parameters, and what it could not be asked.

Each provider maps the filters to its engine's parameters next to its own code (`bing.py`, ...); this
module holds the shape they all answer in, so the scraper can record per engine what was sent and the
packager can write it into the manifest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.domain.filters import Filters

# The filters an engine is asked for (the rest are the packager's: min_width, min_height, formats).
ENGINE_FILTERS = ("size", "type", "color", "layout", "license", "age", "safe")


@dataclass(frozen=True)
class EngineFilters:
    """`params`: the engine's URL parameters; `given`: the job's filters they stand for;
    `not_supported`: filters set on the job that this engine has no parameter for (so not sent)."""

    params: dict[str, str] = field(default_factory=dict)
    given: dict[str, str] = field(default_factory=dict)
    not_supported: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"given": dict(self.given), "not_supported": list(self.not_supported), "params": dict(self.params)}


def wanted(filters: Filters | None) -> dict[str, str]:
    """The engine-side filters a job set, by name (`safe` always: it has a default)."""
    if filters is None:
        return {}
    return {name: str(getattr(filters, name)) for name in ENGINE_FILTERS if getattr(filters, name) is not None}


class Mapped:
    """Collects an engine's answer filter by filter, so `given` and `not_supported` stay consistent."""

    def __init__(self, filters: Filters | None) -> None:
        self.asked = wanted(filters)
        self.given: dict[str, str] = {}
        self.missing: list[str] = []

    def token(self, name: str, table: Mapping[str, str]) -> str | None:
        """The engine's token for filter `name` from `table`, or None (recorded as not supported)."""
        value = self.asked.get(name)
        if value is None:
            return None
        token = table.get(value)
        if token is None:
            self.missing.append(name)
            return None
        self.given[name] = value
        return token

    def unsupported(self, name: str) -> None:
        """A filter the engine has no parameter for at all."""
        if name in self.asked:
            self.missing.append(name)

    def result(self, params: dict[str, str]) -> EngineFilters:
        return EngineFilters(params, self.given, tuple(self.missing))
