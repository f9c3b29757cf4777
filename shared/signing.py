"""Signed links: the retry link in the failed email carries a signature, so knowing a job's id (it is
in the status page's address, which people share) is not enough to see the email address behind it."""

from __future__ import annotations

import hashlib
import hmac

RETRY_PURPOSE = "retry-link"


def retry_signature(secret_key: str, job_id: str) -> str:
    message = f"{RETRY_PURPOSE}:{job_id}".encode()
    return hmac.new(secret_key.encode(), message, hashlib.sha256).hexdigest()[:32]


def is_valid_retry_signature(secret_key: str, job_id: str, signature: str) -> bool:
    """True only for the signature `retry_signature` gives; anything else (another length, not hex, not
    ASCII) is simply invalid. Compared as bytes, in constant time: `compare_digest` on str raises
    TypeError for non-ASCII text, and surrogates from a badly encoded URL cannot even be encoded."""
    try:
        given = signature.encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(retry_signature(secret_key, job_id).encode("ascii"), given)
