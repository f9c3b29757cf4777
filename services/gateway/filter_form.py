"""The form's "Advanced" section: its fields (`filters.<name>`), their choices for people, and what was typed.

Validation is shared.domain.filters' (through validate_form), the same as the API's; this module only
names and labels the fields and reads them back from a posted form or a job.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.domain.filters import CHOICES, FORMATS, MAX_PIXELS, Filters

PIXEL_FIELDS = ("min_width", "min_height")
FIELDS = tuple(f"filters.{name}" for name in (*CHOICES, *PIXEL_FIELDS, "formats"))

# Words for the values whose own name does not read well; the rest are shown capitalised.
_WORDS = {
    "bw": "Black and white",
    "color": "Colour",
    "gray": "Grey",
    "lineart": "Line drawing",
    "clipart": "Clip art",
    "animated": "Animated (GIF)",
    "creative_commons": "Creative Commons",
    "commercial": "Free to use commercially",
    "day": "Past day",
    "week": "Past week",
    "month": "Past month",
    "year": "Past year",
    "wide": "Wide (landscape)",
    "tall": "Tall (portrait)",
}
LABELS = {
    "size": "Size",
    "type": "Type",
    "color": "Colour",
    "layout": "Layout",
    "license": "Licence",
    "age": "Age",
    "safe": "Safe search",
}


def choices() -> list[tuple[str, str, list[tuple[str, str]]]]:
    """(field name, label, [(value, words)]) for each select; "" is "any" (safe search has no "any")."""
    selects = []
    for name, values in CHOICES.items():
        options = [(value, _WORDS.get(value, value.replace("_", " ").capitalize())) for value in values]
        selects.append((name, LABELS[name], options if name == "safe" else [("", "Any"), *options]))
    return selects


def values_from(source: Mapping[str, Any]) -> dict[str, Any]:
    """What the section shows: the posted (or linked) `filters.<name>` values, `formats` a list."""
    getlist = getattr(source, "getlist", None)
    shown: dict[str, Any] = {name: str(source.get(f"filters.{name}", "") or "") for name in (*CHOICES, *PIXEL_FIELDS)}
    shown["safe"] = shown["safe"] or "moderate"
    formats = getlist("filters.formats") if getlist else source.get("filters.formats", [])
    shown["formats"] = [formats] if isinstance(formats, str) else list(formats or [])
    return shown


def values_of(filters: Filters) -> dict[str, Any]:
    """The section filled in from a job's filters (the retry page)."""
    shown: dict[str, Any] = {name: "" if value is None else str(value) for name, value in vars(filters).items()}
    shown["formats"] = list(filters.formats)
    return shown


def form_fields(form: Any) -> dict[str, Any]:
    """A posted form as validate_form takes it: one value per field, but every ticked format."""
    raw: dict[str, Any] = form.to_dict()
    if "filters.formats" in form:
        raw["filters.formats"] = form.getlist("filters.formats")
    return raw


def is_open(values: Mapping[str, Any], errors: Mapping[str, str]) -> bool:
    """Open the section when something in it is set or wrong, so nothing chosen is hidden."""
    if any(key.startswith("filters") for key in errors):
        return True
    return any(values.get(name) for name in (*CHOICES, *PIXEL_FIELDS, "formats") if name != "safe") or (
        values.get("safe", "moderate") != "moderate"
    )


TEMPLATE_GLOBALS = {"filter_formats": FORMATS, "filter_max_pixels": MAX_PIXELS}
