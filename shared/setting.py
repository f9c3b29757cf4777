"""One setting: an environment variable's name, default, form, limits and help, and how its text is read.

`shared.config.Settings` declares each of its fields with one (`Setting.field()`), so that reading the
environment and writing the docs (`shared.settings_docs`) both come from the same declaration.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
Kind = Literal["text", "url", "int", "float", "bool", "list"]

BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}
FORMS = {
    "text": "text",
    "url": "an http:// or https:// URL",
    "int": "a whole number",
    "float": "a number",
    "bool": "one of " + ", ".join(BOOL_WORDS),
    "list": "a comma-separated list",
}
METADATA_KEY = "imgjob.settings"  # the field metadata entry holding a field's Setting records


class SettingsError(ValueError):
    """Environment variables set to unusable values; the message has one line per variable."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = tuple(problems)


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One environment variable: its name, default, form, allowed values, and what it is for."""

    name: str
    default: T
    kind: Kind
    help: str
    low: float = -math.inf
    high: float = math.inf
    above: float = -math.inf  # exclusive lower bound: a zero timeout or interval would spin or never wait
    unit: str = ""
    choices: tuple[str, ...] = ()
    key: str = ""  # fills this entry of a mapping field (search_urls) instead of the whole field

    def field(self) -> T:
        """A `Settings` field with this default that remembers where its value comes from."""
        return dataclasses.field(default=self.default, metadata={METADATA_KEY: (self,)})

    def parse(self, raw: str) -> Any:
        """The value `raw` (stripped, not empty) stands for; ValueError if it is not of the expected form."""
        value: Any = raw
        if self.kind == "url":
            ok = urlsplit(raw).scheme in ("http", "https") and bool(urlsplit(raw).netloc)
            value = raw.rstrip("/")
        elif self.kind == "bool":
            ok, value = raw.lower() in BOOL_WORDS, BOOL_WORDS.get(raw.lower())
        elif self.kind == "list":
            value = tuple(item.strip().lower() for item in raw.split(",") if item.strip())
            ok = bool(value) and set(value) <= set(self.choices)
        elif self.choices:  # a text setting that is one word of a few
            value = raw.lower()
            ok = value in self.choices
        elif self.kind in ("int", "float"):
            value = int(raw) if self.kind == "int" else float(raw)
            ok = self.low <= value <= self.high and value > self.above and math.isfinite(value)
        else:
            ok = True
        if not ok:
            raise ValueError(raw)
        return value

    def expected(self) -> str:
        """The form a value must take, in words, for error messages and the docs."""
        if self.kind == "list":
            return f"{FORMS[self.kind]} of {', '.join(self.choices)}"
        if self.choices:
            return f"one of {', '.join(self.choices)}"
        words = [FORMS[self.kind], f"of {self.unit}" if self.unit else ""]
        if math.isfinite(self.high):
            words.append(f"from {self.low:g} to {self.high:g}")
        elif math.isfinite(self.low):
            words.append(f">= {self.low:g}")
        elif math.isfinite(self.above):
            words.append(f"> {self.above:g}")
        return " ".join(word for word in words if word)

    def shown(self) -> str:
        """The default as it would be written in the environment; empty when the default is unset."""
        if isinstance(self.default, bool):
            return str(self.default).lower()
        if isinstance(self.default, float):
            return f"{self.default:g}"
        if isinstance(self.default, tuple):
            return ",".join(self.default)
        return "" if self.default is None else str(self.default)

    def described(self) -> str:
        """The help, plus the allowed values where the default alone does not show them."""
        shows_form = self.kind in ("int", "float", "list") or bool(self.choices)
        return f"{self.help} ({self.expected()})" if shows_form else self.help
