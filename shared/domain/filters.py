"""Search filters: what a person may ask of the images, checked once, the same for the form and the API.

The engines' own filters (size, type, colour, layout, licence, age, safe search) are coarse hints each
provider turns into its engine's parameters; `min_width`, `min_height` and `formats` are also enforced by
the packager on the decoded images, since no engine honours them exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

CHOICES: dict[str, tuple[str, ...]] = {
    "size": ("small", "medium", "large", "wallpaper"),
    "type": ("photo", "clipart", "lineart", "animated", "transparent"),
    "color": (
        "color",
        "bw",
        *("red", "orange", "yellow", "green", "teal", "blue", "purple", "pink", "brown", "black", "gray", "white"),
    ),
    "layout": ("square", "wide", "tall"),
    "license": ("creative_commons", "commercial"),
    "age": ("day", "week", "month", "year"),
    "safe": ("strict", "moderate", "off"),
}
FORMATS = ("jpeg", "png", "webp", "gif")
MAX_PIXELS = 10_000
DEFAULT_SAFE = "moderate"


@dataclass(frozen=True)
class Filters:
    """A job's filters; None (or an empty tuple) is "any"."""

    size: str | None = None
    type: str | None = None
    color: str | None = None
    layout: str | None = None
    license: str | None = None
    age: str | None = None
    safe: str = DEFAULT_SAFE
    min_width: int | None = None
    min_height: int | None = None
    formats: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The filters that were set (and `safe`, always), in field order: what the API, the manifest
        and the emails show."""
        shown: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is None or value == ():
                continue
            shown[item.name] = list(value) if isinstance(value, tuple) else value
        return shown

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> Filters:
        """The filters a store kept (None, from a job made before filters existed, is no filter)."""
        if not text:
            return cls()
        data = json.loads(text)
        data["formats"] = tuple(data.get("formats", ()))
        return cls(**data)

    @property
    def enforced(self) -> bool:
        """Whether the packager must check the decoded images."""
        return bool(self.min_width or self.min_height or self.formats)

    def describe(self) -> str:
        """One line for people: "size large, formats jpeg png, min width 800" ("none" without filters)."""
        parts = []
        for name, value in self.to_dict().items():
            if name == "safe" and value == DEFAULT_SAFE:
                continue
            text = " ".join(value) if isinstance(value, list) else str(value).replace("_", " ")
            parts.append(f"{name.replace('_', ' ')} {text}")
        return ", ".join(parts) or "none"


def _pixels(name: str, value: Any, errors: dict[str, str]) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        errors[f"filters.{name}"] = f"{name} must be a whole number of pixels from 1 to {MAX_PIXELS}."
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_PIXELS:
        errors[f"filters.{name}"] = f"{name} must be a whole number of pixels from 1 to {MAX_PIXELS}."
        return None
    return number


def _formats(value: Any, errors: dict[str, str]) -> tuple[str, ...]:
    if value is None or value == "" or value == []:
        return ()
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        errors["filters.formats"] = f"formats must be a list from {', '.join(FORMATS)}."
        return ()
    unknown = [item for item in items if item not in FORMATS]
    if unknown:
        errors["filters.formats"] = f"Unknown format {unknown[0][:20]!r}; choose from {', '.join(FORMATS)}."
        return ()
    return tuple(name for name in FORMATS if name in items)


def parse_filters(raw: Any, errors: dict[str, str]) -> Filters:
    """The filters of a submission (the API's `filters` object, or the form's fields gathered into one).

    Every problem is added to `errors` under `filters.<name>` (`filters` itself when it is not an
    object); empty values mean "any"."""
    if raw is None:
        return Filters()
    if not isinstance(raw, Mapping):
        errors["filters"] = 'filters must be an object, like {"size": "large"}.'
        return Filters()
    values: dict[str, Any] = {}
    for key in raw:
        name = str(key)
        if name not in CHOICES and name not in ("min_width", "min_height", "formats"):
            errors[f"filters.{name[:50]}"] = "Unknown filter."
    for name, allowed in CHOICES.items():
        value = raw.get(name)
        if value is None or value == "":
            continue
        if value not in allowed:
            errors[f"filters.{name}"] = f"Choose {name} from {', '.join(allowed)}."
        else:
            values[name] = value
    for name in ("min_width", "min_height"):
        values[name] = _pixels(name, raw.get(name), errors)
    values["formats"] = _formats(raw.get("formats"), errors)
    return Filters(**values)
