"""The real pages captured from the outside world, kept beside the repository in `../shared/fixtures/`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _origin_checkout() -> Path | None:
    """The checkout this one was cloned from, when that is a folder on this machine (a CI clone's)."""
    try:
        url = subprocess.run(
            ["git", "-C", str(REPO), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    path = Path(url.removeprefix("file://"))
    return path.resolve() if url and path.is_absolute() and path.is_dir() else None


def candidates() -> list[Path]:
    """`shared/fixtures` beside this checkout or any folder above it, then beside its origin's."""
    places = [folder / "shared" / "fixtures" for folder in REPO.parents]
    origin = _origin_checkout()
    if origin is not None:
        places += [folder / "shared" / "fixtures" for folder in origin.parents]
    return places


def fixtures_dir() -> Path:
    override = os.environ.get("IMGJOB_FIXTURES")
    if override:
        return Path(override)
    places = candidates()
    for folder in places:
        if folder.is_dir():
            return folder
    raise FileNotFoundError(
        f"the captured pages are not in any of {[str(p) for p in places]}; set IMGJOB_FIXTURES to their folder"
    )


def bing_results_page() -> Path:
    return fixtures_dir() / "search" / "bing_images.html"
