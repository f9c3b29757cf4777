"""A fake image host: real, decodable images, generated with Pillow, with the misbehaviour of real hosts.

`GET /img/<n>.<ext>` with `ext` one of jpg, png, gif, webp answers image number `n`: the same bytes
every time for the same n and options, different bytes (and colours) for different n.

Query options:
- `size=S`: the square's side in pixels (default 200).
- `pad_kb=K`: make the file about K KB (at least K * 1024 bytes) with format-legal padding that
  decoders skip (JPEG APP15 segments, a private PNG chunk, GIF comment blocks, an unknown WebP chunk),
  so the pixels stay `size` square and the bytes are really sent.
- `latency_ms=M`: wait M ms before answering.
- `trickle_ms=M`: wait M ms between body chunks of `chunk_kb` KB (default 16): a slow host.
- `status=C`: answer HTTP status C (a short text body) instead of the image.
- `retry_after=S`: with `status`, send `Retry-After: S`.
- `fail_every=K`: every K-th n (n % K == 0) answers 500.
- `fail_first=K`: the first K requests for this exact URL answer 503, later ones the image.
- `wrong_type=1`: an HTML page served as `Content-Type: image/jpeg`.
- `redirect=K`: 302 to the same URL with `redirect=K-1` (dropped at 0): a chain of K hops.
- `redirect_to=URL`: 302 to URL (anything, another host included).
- `no_length=1`: no Content-Length header (the size is known only at the end of the stream).
- `mix=1`: image `n` gets a format and pixel size of its own from the cycle MIX (by `n`, whatever the
  URL's extension says, as real hosts serve a PNG or a GIF at a `.jpg` address): mostly 1000x800, one
  in six a small 400x300 and one a wide 1000x500, in JPEG, PNG, GIF and WebP; for the packager's filters.

The body is streamed in chunks with a Content-Length (unless `no_length`), like a static file server.
`GET /img/stats` answers JSON `{"requests": R, "max_in_flight": M}`: how many image requests this
server saw and the most it was handling at once (latency included), to check client-side bounds.
"""

from __future__ import annotations

import colorsys
import io
import random
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, request
from PIL import Image, ImageDraw
from werkzeug.wrappers import Response as BaseResponse

blueprint = Blueprint("images", __name__)
_STATE_LOCK = threading.Lock()

CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}
_PIL_FORMATS = {"jpg": "JPEG", "png": "PNG", "gif": "GIF", "webp": "WEBP"}
WRONG_TYPE_BODY = b"<!doctype html><html><head><title>Not here</title></head><body>Hotlinking denied</body></html>"


# `mix=1`: image n is MIX[(n - 1) % len(MIX)]: (extension, width, height).
MIX = (
    ("jpg", 1000, 800),
    ("png", 1000, 800),
    ("jpg", 400, 300),
    ("gif", 1000, 800),
    ("webp", 1000, 800),
    ("jpg", 1000, 500),
)


def mixed(n: int) -> tuple[str, int, int]:
    """The extension, width and height of image n under `mix=1`."""
    return MIX[(n - 1) % len(MIX)]


@lru_cache(maxsize=64)
def render_mixed(n: int) -> tuple[bytes, str]:
    """Image n under `mix=1`: its bytes and content type (the picture of `render`, cropped)."""
    ext, width, height = mixed(n)
    return _encode(_picture(n, max(width, height)).crop((0, 0, width, height)), ext), CONTENT_TYPES[ext]


@lru_cache(maxsize=512)
def render(n: int, ext: str, size: int = 200) -> bytes:
    """Image number n: a colour ramp, large shapes and a comb placed by n, and n written on it.

    Every feature scales with `size`, so one n at two sizes or in two formats is the same picture
    to a perceptual hash, while two n are different pictures to it.
    """
    return _encode(_picture(n, size), ext)


def _picture(n: int, size: int) -> Image.Image:
    rng = random.Random(n)
    hue = (n * 0.6180339887) % 1.0
    tint = colorsys.hsv_to_rgb(hue, 0.65, 0.9)
    ramp = Image.linear_gradient("L").rotate(rng.choice((0, 90, 180, 270))).resize((size, size))
    image = Image.merge("RGB", [ramp.point(lambda v, c=c: int(v * (0.35 + 0.65 * c))) for c in tint])
    draw = ImageDraw.Draw(image)
    for _ in range(6):
        left, top = rng.uniform(-0.15, 0.75) * size, rng.uniform(-0.15, 0.75) * size
        width, height = rng.uniform(0.2, 0.45) * size, rng.uniform(0.2, 0.45) * size
        grey = rng.choice((0, 30, 225, 255))
        fill = tuple(min(255, max(0, grey + rng.randint(-25, 25))) for _ in range(3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([left, top, left + width, top + height], fill=fill)
    step = max(2, size * (2 + n % 5) // 100)
    for offset in range(0, size, step * 4):
        draw.line([(offset, 0), (offset, size // 6)], fill=(255, 255, 255), width=max(1, step // 2))
    draw.text((size // 2, size // 2), str(n), fill=(255, 255, 255))
    return image


def _encode(image: Image.Image, ext: str) -> bytes:
    out = io.BytesIO()
    image_to_save = image.convert("P", palette=Image.Palette.ADAPTIVE) if ext == "gif" else image
    image_to_save.save(out, _PIL_FORMATS[ext], **({"quality": 90} if ext in ("jpg", "webp") else {}))
    return out.getvalue()


def _jpeg_pad(data: bytes, filler: bytes) -> bytes:
    # After SOI and the JFIF APP0 segment: APP15 segments of at most 65533 payload bytes each.
    app0_end = 4 + struct.unpack(">H", data[4:6])[0] if data[2:4] == b"\xff\xe0" else 2
    segments = b"".join(
        b"\xff\xef" + struct.pack(">H", len(part) + 2) + part
        for part in (filler[i : i + 65533] for i in range(0, len(filler), 65533))
    )
    return data[:app0_end] + segments + data[app0_end:]


def _png_pad(data: bytes, filler: bytes) -> bytes:
    # A private ancillary chunk ("prVt": lower-case first letter) just before IEND.
    chunk = struct.pack(">I", len(filler)) + b"prVt" + filler + struct.pack(">I", zlib.crc32(b"prVt" + filler))
    return data[:-12] + chunk + data[-12:]


def _gif_pad(data: bytes, filler: bytes) -> bytes:
    # Comment extension blocks before the trailer byte.
    blocks = b"".join(bytes([len(p)]) + p for p in (filler[i : i + 255] for i in range(0, len(filler), 255)))
    return data[:-1] + b"\x21\xfe" + blocks + b"\x00" + data[-1:]


def _webp_pad(data: bytes, filler: bytes, size: int) -> bytes:
    # Unknown chunks are only allowed in the extended format, so wrap the image in a VP8X header.
    chunks = data[12:]
    if not chunks.startswith(b"VP8X"):
        dims = (size - 1).to_bytes(3, "little") * 2
        chunks = b"VP8X" + struct.pack("<I", 10) + b"\x00\x00\x00\x00" + dims + chunks
    filler = filler + (b"\x00" if len(filler) % 2 else b"")
    chunks += b"PADD" + struct.pack("<I", len(filler)) + filler
    return b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + chunks


def padded(n: int, ext: str, size: int, pad_kb: int) -> bytes:
    data = render(n, ext, size)
    missing = pad_kb * 1024 - len(data)
    if missing <= 0:
        return data
    # Random bytes, so the padding does not shrink under any compression on the way.
    filler = random.Random(n).randbytes(missing + 64)
    if ext == "jpg":
        return _jpeg_pad(data, filler)
    if ext == "png":
        return _png_pad(data, filler)
    if ext == "gif":
        return _gif_pad(data, filler)
    return _webp_pad(data, filler, size)


def _int_arg(name: str, default: int = 0) -> int:
    value = request.args.get(name, "")
    return int(value) if value.lstrip("-").isdigit() else default


def _state() -> dict[str, Any]:
    """Per app instance, so two fake webs in one process do not share counters."""
    with _STATE_LOCK:
        return current_app.extensions.setdefault(
            "fakeweb_images", {"lock": threading.Lock(), "seen": {}, "requests": 0, "in_flight": 0, "max_in_flight": 0}
        )


def _first_requests(url: str) -> int:
    """How many times this exact URL was asked for, this one included."""
    state = _state()
    with state["lock"]:
        state["seen"][url] = state["seen"].get(url, 0) + 1
        return int(state["seen"][url])


@contextmanager
def _counted() -> Iterator[None]:
    state = _state()
    with state["lock"]:
        state["requests"] += 1
        state["in_flight"] += 1
        state["max_in_flight"] = max(state["max_in_flight"], state["in_flight"])
    try:
        yield
    finally:
        with state["lock"]:
            state["in_flight"] -= 1


@blueprint.get("/img/stats")
def stats() -> Response:
    state = _state()
    with state["lock"]:
        return jsonify(requests=state["requests"], max_in_flight=state["max_in_flight"])


def _stream(body: bytes, chunk: int, trickle: float) -> Iterator[bytes]:
    for start in range(0, len(body), chunk):
        if trickle and start:
            time.sleep(trickle)
        yield body[start : start + chunk]


@blueprint.get("/img/<int:n>.<ext>")
def image(n: int, ext: str) -> BaseResponse:
    if ext not in CONTENT_TYPES:
        abort(404)
    with _counted():
        return _answer(n, ext)


def _answer(n: int, ext: str) -> BaseResponse:
    latency = _int_arg("latency_ms")
    if latency > 0:
        time.sleep(latency / 1000)
    hops = _int_arg("redirect")
    if hops > 0:
        args = request.args.to_dict()
        if hops > 1:
            args["redirect"] = str(hops - 1)
        else:
            args.pop("redirect")
        query = urlencode(args)
        return redirect(f"{request.path}?{query}" if query else request.path, code=302)
    if request.args.get("redirect_to"):
        return redirect(request.args["redirect_to"], code=302)
    status = _int_arg("status")
    fail_every = _int_arg("fail_every")
    fail_first = _int_arg("fail_first")
    if not status and fail_every > 0 and n % fail_every == 0:
        status = 500
    if not status and fail_first > 0 and _first_requests(request.url) <= fail_first:
        status = 503
    if status:
        response = Response(f"fake status {status}\n", status=status, mimetype="text/plain")
        if request.args.get("retry_after"):
            response.headers["Retry-After"] = request.args["retry_after"]
        return response
    if request.args.get("wrong_type") == "1":
        body, content_type = WRONG_TYPE_BODY, "image/jpeg"
    elif request.args.get("mix") == "1":
        body, content_type = render_mixed(n)
    else:
        size = min(max(_int_arg("size", 200), 8), 4000)
        body, content_type = padded(n, ext, size, max(0, _int_arg("pad_kb"))), CONTENT_TYPES[ext]
    chunk = max(1, _int_arg("chunk_kb", 16)) * 1024
    response = Response(_stream(body, chunk, _int_arg("trickle_ms") / 1000), mimetype=content_type)
    if request.args.get("no_length") != "1":
        response.headers["Content-Length"] = str(len(body))
    return response
