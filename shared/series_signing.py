"""Keyed values of a series: the hashes of what it delivered, and its signed stop link.

A series remembers what its runs delivered only as keyed hashes (shared.signing), one purpose per kind
and the series id inside the hashed value: nobody without IMGJOB_SECRET_KEY can test whether a series
delivered a given image or URL, and the same image gives unrelated hashes in two series.
"""

from __future__ import annotations

import hmac

from shared.domain.urls import normalise_url
from shared.signing import keyed_hash

URL_PURPOSE = "series-url"
IMAGE_PURPOSE = "series-image"
STOP_PURPOSE = "series-stop"


def url_key(secret_key: str, series_id: str, url: str) -> str:
    """What the series keeps of a delivered image's URL (compared after normalising)."""
    return "u" + keyed_hash(secret_key, URL_PURPOSE, f"{series_id}:{normalise_url(url)}")[:40]


def image_key(secret_key: str, series_id: str, sha256: str) -> str:
    """What the series keeps of a delivered image's bytes (its SHA-256)."""
    return "i" + keyed_hash(secret_key, IMAGE_PURPOSE, f"{series_id}:{sha256.lower()}")[:40]


def stop_signature(secret_key: str, series_id: str) -> str:
    return keyed_hash(secret_key, STOP_PURPOSE, series_id)[:32]


def is_valid_stop_signature(secret_key: str, series_id: str, signature: str) -> bool:
    """Constant-time, and False for anything that is not ASCII (as the retry link's check)."""
    try:
        given = signature.encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(stop_signature(secret_key, series_id).encode("ascii"), given)


def stop_path(secret_key: str, series_id: str) -> str:
    """The path of the one-click stop link every email of the series carries."""
    return f"/series/{series_id}/stop?sig={stop_signature(secret_key, series_id)}"
