"""Near-duplicate detection: a 64-bit perceptual hash (pHash) per image, compared by Hamming distance.

The picture is shrunk to 32x32 grey, transformed with a 2-D DCT, and each of the 8x8 lowest
frequencies becomes one bit: above or below their median. Resizing, re-encoding (JPEG quality, PNG
or WebP instead of JPEG) and light colour changes move few bits; different pictures differ in about
half of them.
"""

from __future__ import annotations

import math
import threading
import warnings
from pathlib import Path
from typing import BinaryIO

from PIL import Image

SIDE = 32  # the greyscale thumbnail the DCT runs on
KEEP = 8  # the lowest KEEP x KEEP frequencies make the hash
BITS = KEEP * KEEP

# cos(pi * (2x + 1) * u / 2N) for the KEEP frequencies kept: only those are ever computed.
_COSINES = [[math.cos(math.pi * (2 * x + 1) * u / (2 * SIDE)) for x in range(SIDE)] for u in range(KEEP)]

# Decoding a large PNG or WebP takes up to width x height x 4 bytes; two at a time keeps a job's peak
# memory bounded however many download workers run (JPEGs decode at 1/8 scale and cost little).
_DECODES = threading.BoundedSemaphore(2)


def perceptual_hash(source: Path | BinaryIO) -> int:
    """The image's 64-bit perceptual hash (the first frame of an animation).

    Raises the decoder's error (OSError, ValueError, ...) on a file whose pixels do not decode.
    """
    with _DECODES, warnings.catch_warnings():
        # The pixel cap was checked by `verify`; Pillow's own bomb warning adds nothing here.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        with Image.open(source) as image:
            # JPEG can decode straight at a fraction of its size: far less memory and time.
            image.draft("L", (SIDE * 4, SIDE * 4))
            grey = image.convert("L").resize((SIDE, SIDE), Image.Resampling.BOX)
    pixels = list(grey.tobytes())
    return hash_pixels(pixels)


def hash_pixels(pixels: list[int]) -> int:
    """The hash of a SIDE x SIDE greyscale picture given row by row."""
    if len(pixels) != SIDE * SIDE:
        raise ValueError(f"expected {SIDE * SIDE} pixels, got {len(pixels)}")
    # A separable DCT: rows first (KEEP coefficients each), then columns of those.
    rows = [
        [sum(c * p for c, p in zip(cosine, pixels[y * SIDE : (y + 1) * SIDE], strict=True)) for cosine in _COSINES]
        for y in range(SIDE)
    ]
    coefficients = [sum(_COSINES[v][y] * rows[y][u] for y in range(SIDE)) for v in range(KEEP) for u in range(KEEP)]
    # The DC term (overall brightness) would skew the median; it still gets a bit, against it.
    median = sorted(coefficients[1:])[(BITS - 1) // 2]
    bits = 0
    for value in coefficients:
        bits = bits << 1 | (value > median)
    return bits


def distance(a: int, b: int) -> int:
    """How many of the hashes' bits differ (0: the same picture as far as the hash can tell)."""
    return (a ^ b).bit_count()
