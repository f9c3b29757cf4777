"""What the fake search engines (bing.py, google.py, duckduckgo.py, brave.py) share.

The scenario grammar: a path segment of comma-separated `key=value` (values percent-encoded), where
`img.NAME=V` items are options for the image server (tests/fakeweb/images.py) and every other key must
be one the engine knows. Also the answers every engine gives the same way: HTML responses, the page a
result was "found on", and saving a consent cookie.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Mapping
from typing import TypedDict, TypeVar
from urllib.parse import quote, unquote, urlencode

from flask import Response, abort, redirect, request
from werkzeug.wrappers import Response as BaseResponse

# The image server's default side; the size an engine claims matches what it serves.
IMAGE_SIDE = 200

T = TypeVar("T")

# Keys every engine knows; `consent` is shared too but each engine reads it its own way.
SHARED_KEYS = ("total", "captcha", "ext", "delay_ms")


def _option_value(value: object) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def join_scenario(
    total: int,
    optional: Mapping[str, tuple[object, object]],
    ext: str,
    delay_ms: int,
    image_options: Mapping[str, object],
) -> str:
    """`key=value,...` for a scenario path segment: `total`, the engine's own settings, `ext` and
    `delay_ms`, then the image options as `img.NAME=V`.

    `optional` maps each key to (value, default); values equal to their default are left out so the
    URLs in logs stay short.
    """
    settings = {**optional, "ext": (ext, "jpg"), "delay_ms": (delay_ms, 0)}
    parts: dict[str, object] = {"total": total}
    parts |= {key: value for key, (value, default) in settings.items() if value != default}
    parts |= {f"img.{name}": _option_value(value) for name, value in image_options.items()}
    return ",".join(f"{key}={quote(str(value), safe='')}" for key, value in parts.items())


def split_scenario(text: str, engine_keys: Collection[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The settings (shared and `engine_keys`) and the image options of a scenario segment.

    ValueError on a typo: an item that is not `key=value`, an unknown key, a bad extension.
    """
    keys = (*SHARED_KEYS, *engine_keys)
    values: dict[str, str] = {}
    images: dict[str, str] = {}
    for item in filter(None, text.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"scenario item {item!r} is not key=value")
        if key.startswith("img."):
            images[key[len("img.") :]] = unquote(value)
        elif key in keys:
            values[key] = unquote(value)
        else:
            raise ValueError(f"unknown scenario key {key!r}")
    ext = values.get("ext", "jpg")
    if not ext.isalnum():
        raise ValueError(f"bad extension {ext!r}")
    return values, images


def non_negative(values: Mapping[str, str], key: str, default: int) -> int:
    return max(0, int(values.get(key, default)))


class SharedSettings(TypedDict):
    """The settings every fake engine has, as keyword arguments of its Scenario."""

    total: int
    captcha: int
    ext: str
    delay_ms: int
    image_options: dict[str, str]


def shared_settings(values: Mapping[str, str], images: dict[str, str]) -> SharedSettings:
    """The shared settings of what split_scenario answered."""
    return SharedSettings(
        total=non_negative(values, "total", 60),
        captcha=non_negative(values, "captcha", 0),
        ext=values.get("ext", "jpg"),
        delay_ms=non_negative(values, "delay_ms", 0),
        image_options=images,
    )


def consent_setting(consent: bool | str) -> str:
    """The `consent` value to encode: "" (none), "1" (can be answered) or a mode such as "wall"."""
    return ("1" if consent else "") if isinstance(consent, bool) else consent


def consent_mode(values: Mapping[str, str]) -> str:
    """The decoded `consent`: "", "1" or "wall"; ValueError on anything else."""
    consent = values.get("consent", "")
    if consent not in ("", "0", "1", "wall"):
        raise ValueError(f"consent must be 1 or wall, not {consent!r}")
    return "" if consent == "0" else consent


def parse_scenario(decode: Callable[[str], T], text: str) -> T:
    """`decode(text)`, or a 400 answer naming the mistake in the scenario."""
    try:
        return decode(text)
    except ValueError as exc:
        abort(Response(f"bad scenario: {exc}\n", status=400, mimetype="text/plain"))


def html(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/html")


def int_arg(name: str, default: int) -> int:
    """Query argument `name` as an int; `default` when it is missing or not a number."""
    try:
        return int(request.args.get(name, default))
    except ValueError:
        return default


def pause(delay_ms: int) -> None:
    """The scenario's `delay_ms`: a slow or hanging engine."""
    if delay_ms:
        time.sleep(delay_ms / 1000)


def full_image_url(n: int, ext: str, image_options: Mapping[str, str]) -> str:
    """Image `n` on this same server, with the scenario's image options in its query string."""
    options = f"?{urlencode(image_options)}" if image_options else ""
    return f"{request.host_url}img/{n}.{ext}{options}"


def image_side(image_options: Mapping[str, str]) -> int:
    """The side the image server makes with these options, which the engines claim as the size."""
    return int(image_options.get("size", IMAGE_SIDE))


def found_on_page(number: int, ext: str) -> Response:
    """The page a result was "found on": a title and the image."""
    return html(
        f"<!DOCTYPE html><html><head><title>Picture {number}</title></head><body><h1>Picture {number}</h1>"
        f'<img src="/img/{number}.{ext}" alt="picture {number}"></body></html>'
    )


def consent_pending(mode: str, cookie: str) -> bool:
    """Whether a consent page stands before the results: always for a wall, else until `cookie` is set."""
    return bool(mode) and (mode == "wall" or request.cookies.get(cookie) != "1")


def save_consent(engine: str, scenario: str, fallback: str, cookie: str, remember: bool) -> BaseResponse:
    """Answer a consent form: 303 back to its `continue` target, setting `cookie` unless not `remember`.

    The target must lie inside this engine's scenario (never an open redirect); otherwise, or when
    missing, the answer goes to `fallback`, a path below the scenario such as "/search".
    """
    prefix = f"/{engine}/{scenario}"
    target = request.form.get("continue", "")
    if not target.startswith(prefix + "/"):
        target = prefix + fallback
    response = redirect(target, code=303)
    if remember:
        response.set_cookie(cookie, "1", path=f"/{engine}/", samesite="Lax")
    return response
