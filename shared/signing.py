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
    return hmac.compare_digest(retry_signature(secret_key, job_id), signature)
