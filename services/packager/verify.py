"""Is a downloaded file really an image? The bytes decide, never the URL or the Content-Type."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from PIL import Image, UnidentifiedImageError

# Pillow format -> (file extension, content type). Only these are accepted, and Pillow is told to try
# only these decoders, so odd formats with weak signatures (TGA and friends) never match random bytes.
FORMATS: dict[str, tuple[str, str]] = {
    "JPEG": ("jpg", "image/jpeg"),
    "PNG": ("png", "image/png"),
    "GIF": ("gif", "image/gif"),
    "WEBP": ("webp", "image/webp"),
    "BMP": ("bmp", "image/bmp"),
    "TIFF": ("tif", "image/tiff"),
}
# Formats whose data is already compressed: deflating them again costs CPU and gains nothing.
COMPRESSED_EXTENSIONS = frozenset({"jpg", "png", "gif", "webp"})
MAX_PIXELS = 50_000_000


class NotAnImage(ValueError):
    """The file failed verification; the message is the short reason shown in the manifest."""


@dataclass(frozen=True)
class ImageInfo:
    ext: str
    content_type: str
    width: int
    height: int


def inspect_image(source: Path | BinaryIO, max_pixels: int = MAX_PIXELS) -> ImageInfo:
    """Decode the header and run Pillow's structural check; raise NotAnImage with a short reason.

    The pixels are not decoded: that would cost up to width x height x 4 bytes per image, and the
    header, the format's own checksums (`verify`) and the pixel cap are what protect the zip's reader.
    """
    try:
        with warnings.catch_warnings():
            # Over Pillow's own bomb threshold it warns first and raises at twice that; our cap is
            # the one that counts, so the warning is noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(source, formats=list(FORMATS)) as image:
                fmt = image.format or ""
                width, height = image.size
                if width <= 0 or height <= 0:
                    raise NotAnImage("not an image")
                if width * height > max_pixels:
                    raise NotAnImage(f"too many pixels: {width}x{height}")
                image.verify()
    except Image.DecompressionBombError:
        raise NotAnImage("too many pixels") from None
    except NotAnImage:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        # Pillow reports broken files with any of these, SyntaxError included.
        raise NotAnImage("not an image") from None
    except Exception:
        # Hostile bytes reach decoder corners that raise struct.error, IndexError and the like: still
        # one bad file, never a reason to fail the whole job.
        raise NotAnImage("not an image") from None
    if fmt not in FORMATS:
        raise NotAnImage("not an image")
    ext, content_type = FORMATS[fmt]
    return ImageInfo(ext=ext, content_type=content_type, width=width, height=height)
