"""Reading the data literals pages write into their scripts: JSON, and JavaScript object literals.

SvelteKit pages (Brave's among them) hand their data to the page's code as JavaScript, not JSON: bare
keys, `void 0`, `!0`, and repeated values hoisted into the parameters of a function called on the spot,
`(function(a,b){return {type:"data",data:{x:a,y:b}}}("one",2))`. `read_value` reads one such literal
and `iife_values` the results of those calls, both without recursion (no nesting depth exhausts the
stack) and raising only JsSyntaxError. Calls and `new X(...)` inside the data read as None.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

# Deeper than any engine's data; a page nesting further is not one we read.
MAX_DEPTH = 500

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<punct>[{}\[\],:();])
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<number>-?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?))
    | (?P<bang>!)
    | (?P<name>[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*)
    )""",
    re.S | re.X,
)
_ESCAPE = re.compile(r"\\(u\{[0-9a-fA-F]{1,8}\}|u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.S)
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "0": "\0", "\n": ""}
_CONSTANTS: dict[str, Any] = {"true": True, "false": False, "null": None, "undefined": None}
_IIFE = re.compile(r"\(\s*function\s*\(([\w$\s,]*)\)\s*\{\s*return\s+")
_PLAIN = re.compile(r"""[^()"']*""")


class JsSyntaxError(ValueError):
    """The text at the given place is not a literal this module reads."""


@dataclass(frozen=True)
class _Param:
    name: str


@dataclass
class _Frame:
    container: list[Any] | dict[str, Any]
    closer: str
    key: str | None = field(default=None)


def _unescape(body: str) -> str:
    def one(match: re.Match[str]) -> str:
        escape = match.group(1)
        if len(escape) > 1:
            code = int(escape[2:-1] if escape.startswith("u{") else escape[1:], 16)
            return chr(code) if code <= 0x10FFFF else "\ufffd"
        return _SIMPLE_ESCAPES.get(escape, escape)

    text = _ESCAPE.sub(one, body)
    # Pairs of \\uD83D\\uDE00 escapes become one character; a lone half becomes U+FFFD.
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _token(text: str, pos: int) -> tuple[str, str, int]:
    match = _TOKEN.match(text, pos)
    if match is None or match.lastgroup is None:
        raise JsSyntaxError(f"unexpected text at {pos}")
    return match.lastgroup, match.group(match.lastgroup), match.end()


def _skip_call(text: str, pos: int) -> int:
    """The position after the `)` closing the call whose arguments start at `pos`."""
    depth = 1
    while depth:
        pos = _PLAIN.match(text, pos).end()  # type: ignore[union-attr]  # matches the empty string too
        if pos >= len(text):
            raise JsSyntaxError("unterminated call")
        char = text[pos]
        if char in "\"'":
            _, _, pos = _token(text, pos)
            continue
        depth += 1 if char == "(" else -1
        pos += 1
    return pos


def _number(token: str, pos: int) -> int | float:
    try:
        if token.lower().lstrip("-").startswith("0x"):
            return int(token, 16)
        return float(token) if any(c in token for c in ".eE") else int(token)
    except ValueError as exc:  # more digits than Python converts
        raise JsSyntaxError(f"unreadable number at {pos}") from exc


def _scalar(kind: str, token: str, text: str, pos: int, names: Mapping[str, Any]) -> tuple[Any, int]:
    negations = 0
    voided = False
    # Prefixes, read in a loop rather than by recursion: `!0` (true), `!1` (false), `void 0` (undefined).
    while kind == "bang" or (kind == "name" and token == "void"):
        negations += kind == "bang"
        voided = voided or token == "void"
        kind, token, pos = _token(text, pos)
    value: Any
    if kind == "string":
        value = _unescape(token[1:-1])
    elif kind == "number":
        value = _number(token, pos)
    elif kind != "name":
        raise JsSyntaxError(f"unexpected {token!r} at {pos}")
    elif token == "new":
        kind, token, pos = _token(text, pos)
        if kind != "name":
            raise JsSyntaxError(f"unexpected {token!r} after new")
        value = None
    else:
        value = _CONSTANTS[token] if token in _CONSTANTS else names.get(token)
    if kind == "name":
        call = _TOKEN.match(text, pos)
        if call is not None and call.group("punct") == "(":
            value, pos = None, _skip_call(text, call.end())
    if voided:
        return None, pos
    for _ in range(negations):
        value = not value
    return value, pos


def read_value(text: str, pos: int = 0, names: Mapping[str, Any] | None = None) -> tuple[Any, int]:
    """The literal starting at `pos` (after any blanks) and the position after it.

    Bare names are looked up in `names` (None if absent). JsSyntaxError for anything else.
    """
    names = names or {}
    stack: list[_Frame] = []
    while True:
        kind, token, pos = _token(text, pos)
        top = stack[-1] if stack else None
        value: Any
        if top is not None and isinstance(top.container, dict) and top.key is None:
            if token == "}":
                value = stack.pop().container
            elif kind in ("string", "name", "number"):
                top.key = _unescape(token[1:-1]) if kind == "string" else token
                _, colon, pos = _token(text, pos)
                if colon != ":":
                    raise JsSyntaxError(f"expected : after a key at {pos}")
                continue
            else:
                raise JsSyntaxError(f"expected a key at {pos}")
        elif top is not None and isinstance(top.container, list) and token in ("]", ","):
            if token == ",":
                top.container.append(None)  # a hole, [1,,2]
                continue
            value = stack.pop().container
        elif token in ("[", "{"):
            if len(stack) >= MAX_DEPTH:
                raise JsSyntaxError(f"nested deeper than {MAX_DEPTH}")
            stack.append(_Frame([], "]") if token == "[" else _Frame({}, "}"))
            continue
        else:
            value, pos = _scalar(kind, token, text, pos, names)
        # A value is complete: attach it, then read what follows it in each container it closes.
        while True:
            if not stack:
                return value, pos
            top = stack[-1]
            if isinstance(top.container, list):
                top.container.append(value)
            else:
                assert top.key is not None
                top.container[top.key] = value
                top.key = None
            _, token, pos = _token(text, pos)
            if token == ",":
                break
            if token != top.closer:
                raise JsSyntaxError(f"expected , or {top.closer} at {pos}")
            value = stack.pop().container


def _substitute(value: Any, arguments: Mapping[_Param, Any]) -> Any:
    if isinstance(value, _Param):
        return arguments.get(value)
    pending = [value]
    while pending:
        node = pending.pop()
        keys = range(len(node)) if isinstance(node, list) else list(node) if isinstance(node, dict) else ()
        for key in keys:
            child = node[key]
            if isinstance(child, _Param):
                node[key] = arguments.get(child)
            elif isinstance(child, list | dict):
                pending.append(child)
    return value


def _arguments(text: str, pos: int) -> tuple[list[Any], int]:
    """The values of a call's argument list starting at `pos` (just after its `(`)."""
    values: list[Any] = []
    _, token, after = _token(text, pos)
    if token == ")":
        return values, after
    while True:
        value, pos = read_value(text, pos)
        values.append(value)
        _, token, pos = _token(text, pos)
        if token == ")":
            return values, pos
        if token != ",":
            raise JsSyntaxError(f"expected , or ) at {pos}")


def _call(text: str, match: re.Match[str]) -> tuple[Any, int]:
    params = [_Param(name.strip()) for name in match.group(1).split(",") if name.strip()]
    body, pos = read_value(text, match.end(), {param.name: param for param in params})
    tokens: list[str] = []
    while len(tokens) < 4 and (token := _token(text, pos))[1] in ";})(":
        tokens.append(token[1])
        pos = token[2]
        if token[1] == "(":
            break
    # `(function(a){return x}(1))` or `(function(a){return x})(1)`.
    if tokens not in (["}", "("], [";", "}", "("], ["}", ")", "("], [";", "}", ")", "("]):
        raise JsSyntaxError(f"not a call at {pos}")
    values, pos = _arguments(text, pos)
    return _substitute(body, dict(zip(params, values, strict=False))), pos


def iife_values(text: str) -> Iterator[Any]:
    """The value each `(function(a,b){return <literal>}(x,y))` in `text` returns, in order; calls that
    do not read are skipped."""
    pos = 0
    while match := _IIFE.search(text, pos):
        try:
            value, pos = _call(text, match)
        except JsSyntaxError:
            pos = match.end()
            continue
        yield value
