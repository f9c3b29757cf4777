"""Keyed hashes under IMGJOB_SECRET_KEY, one purpose each, and the signed retry link.

Every keyed value of imgjob (download tokens and their hashes, unsubscribe tokens, mailbox and rate-limit
keys, the retry link's signature) is an HMAC-SHA256 of `"<purpose>:<value>"`: hashes made for one use
never match those of another, and none can be made or reversed without the key.

The retry link in the failed email carries a signature, so knowing a job's id (it is in the status
page's address, which people share) is not enough to see the email address behind it.
"""

from __future__ import annotations

import hashlib
import hmac

RETRY_PURPOSE = "retry-link"


def keyed_digest(secret_key: str, purpose: str, value: str) -> bytes:
    message = f"{purpose}:{value}".encode("utf-8", "surrogatepass")
    return hmac.new(secret_key.encode(), message, hashlib.sha256).digest()


def keyed_hash(secret_key: str, purpose: str, value: str) -> str:
    """`keyed_digest` as 64 hex digits."""
    return keyed_digest(secret_key, purpose, value).hex()


def retry_signature(secret_key: str, job_id: str) -> str:
    return keyed_hash(secret_key, RETRY_PURPOSE, job_id)[:32]


def is_valid_retry_signature(secret_key: str, job_id: str, signature: str) -> bool:
    """True only for the signature `retry_signature` gives; anything else (another length, not hex, not
    ASCII) is simply invalid. Compared as bytes, in constant time: `compare_digest` on str raises
    TypeError for non-ASCII text, and surrogates from a badly encoded URL cannot even be encoded."""
    try:
        given = signature.encode("ascii")
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(retry_signature(secret_key, job_id).encode("ascii"), given)
