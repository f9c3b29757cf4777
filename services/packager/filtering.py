"""The job's filters the packager enforces on the decoded images: a minimum width and height, and formats.

The engines' own size and type filters are coarse hints (a "large" image may still be 640 wide, a
`.jpg` address may serve a GIF), so these are checked on what the bytes turned out to be. An image
that misses them is not stored: the manifest lists it as `filtered` with the reason.
"""

from __future__ import annotations

from collections.abc import Callable

from services.packager.verify import ImageInfo
from shared.domain.filters import Filters

# The verifier's file extensions under the names the filters use (BMP and TIFF are never among them).
FORMAT_NAMES = {"jpg": "jpeg", "png": "png", "gif": "gif", "webp": "webp", "bmp": "bmp", "tif": "tiff"}

# Told a verified image's header, answers why it misses the job's filters, or None when it passes.
Accept = Callable[[ImageInfo], str | None]


def rejection(filters: Filters, info: ImageInfo) -> str | None:
    """Why an image of `info` misses `filters` ("640x480 is smaller than the minimum width 800"), or None."""
    size = f"{info.width}x{info.height}"
    if filters.min_width and info.width < filters.min_width:
        return f"{size} is smaller than the minimum width {filters.min_width}"
    if filters.min_height and info.height < filters.min_height:
        return f"{size} is smaller than the minimum height {filters.min_height}"
    name = FORMAT_NAMES.get(info.ext, info.ext)
    if filters.formats and name not in filters.formats:
        return f"format {name} is not among {', '.join(filters.formats)}"
    return None


def acceptor(filters: Filters) -> Accept | None:
    """The check for a job's images, or None when its filters ask for none."""
    if not filters.enforced:
        return None
    return lambda info: rejection(filters, info)


def not_needed_reason(wanted: int) -> str:
    return f"not needed: the job had its {wanted} images"
