"""The real pages captured from the outside world, kept beside the repository in `../shared/fixtures/`."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# Where the shared folder sits for a checkout in the workplace (../shared) and for a clone elsewhere on
# the same machine; IMGJOB_FIXTURES names another folder.
CANDIDATES = (REPO.parent / "shared" / "fixtures", Path("/work/shared/fixtures"))


def fixtures_dir() -> Path:
    override = os.environ.get("IMGJOB_FIXTURES")
    if override:
        return Path(override)
    for folder in CANDIDATES:
        if folder.is_dir():
            return folder
    raise FileNotFoundError(
        f"the captured pages are not in any of {[str(c) for c in CANDIDATES]}; set IMGJOB_FIXTURES to their folder"
    )


def bing_results_page() -> Path:
    return fixtures_dir() / "search" / "bing_images.html"
