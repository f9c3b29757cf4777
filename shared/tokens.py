"""Download tokens: derived from the secret key and the job's id, kept at rest only as keyed hashes.

The token is what the ready email's link carries. The store holds `token_hash(key, token)`, which
finds the job (and, after the purge, its tombstone) but cannot be turned back into a link without the
key. Anyone with the key and a job id can derive the token: the status page, which shows the
download button to whoever has the job's address, does exactly that.
"""

from __future__ import annotations

import base64

from shared.signing import keyed_digest, keyed_hash


def download_token(secret_key: str, job_id: str) -> str:
    """The job's download token: 43 URL-safe characters, the same every time it is derived."""
    return base64.urlsafe_b64encode(keyed_digest(secret_key, "download", job_id)).decode().rstrip("=")


def token_hash(secret_key: str, token: str) -> str:
    """What the store keeps and looks tokens up by."""
    return keyed_hash(secret_key, "token-hash", token)
