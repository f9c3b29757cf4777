"""Whether IMGJOB_SECRET_KEY may be used: the rule every process applies at start (README "Security").

On the embedded adapters alone (memory://, sqlite:, file:, no SMTP) everything runs on one machine and an
unset key is generated into var/secret_key. Once any other adapter is configured, several processes (and
machines) must share one key, and it signs links and sessions that strangers see: it must then be set,
long, and not a placeholder. Pure: it reads the settings and nothing else.
"""

from __future__ import annotations

import math
import re
from collections import Counter

from shared.config import Settings

VARIABLE = "IMGJOB_SECRET_KEY"
MIN_LENGTH = 32
# Bits the key's characters carry, judged by how often each occurs: a random 32-character key has well over
# 100, "from-env-kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk" has 58.
MIN_BITS = 80
HOW_TO_MAKE_ONE = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'

# Compared without case and without anything but letters and digits ("Change_Me" is "changeme"):
# whole keys as they appear in examples and default configurations,
PLACEHOLDERS = frozenset({"secret", "test", "dev", "imgjob", "admin", "qwerty", "letmein", "12345678"})
# and words that make a key a sentence about one ("your-secret-key-here", "change-me-in-production").
# Seven letters or more, so that a random key holds one by chance about once in a billion.
PLACEHOLDER_MARKERS = (
    "changeme",
    "replaceme",
    "yoursecret",
    "secretkey",
    "placeholder",
    "example",
    "password",
    "insecure",
    "notsecret",
    "default",
)


def real_adapters(settings: Settings) -> list[str]:
    """The variables that configure something other than an embedded adapter (memory://, sqlite:, file:,
    the .eml outbox). An adapter added later counts as real until it is listed here as embedded."""
    found = []
    if not settings.bus_url.startswith("memory://"):
        found.append("IMGJOB_BUS_URL")
    if not settings.store_url.startswith("sqlite:"):
        found.append("IMGJOB_STORE_URL")
    if not settings.blob_url.startswith("file:"):
        found.append("IMGJOB_BLOB_URL")
    if settings.smtp_url:
        found.append("IMGJOB_SMTP_URL")
    return found


def weakness(key: str) -> str | None:
    """What is wrong with `key` as a shared production key, in words that do not repeat it; None if nothing."""
    if not key:
        return "is not set"
    if len(key) < MIN_LENGTH:
        return f"is {len(key)} characters long; it must have at least {MIN_LENGTH}"
    folded = re.sub(r"[^a-z0-9]", "", key.lower())
    if folded in PLACEHOLDERS or any(marker in folded for marker in PLACEHOLDER_MARKERS):
        return "is a well-known placeholder"
    if key in (key + key)[1:-1]:  # the same character, or the same few characters, over and over
        return "repeats one character (or a few) over and over"
    if _bits(key) < MIN_BITS:
        return "is too predictable (a few characters make up most of it)"
    return None


def _bits(key: str) -> float:
    """An estimate of the key's entropy from its own character frequencies (Shannon)."""
    counts = Counter(key).values()
    return -sum(n * math.log2(n / len(key)) for n in counts)


def secret_key_problem(settings: Settings) -> str | None:
    """Why these settings must not start a process (one line naming IMGJOB_SECRET_KEY), or None.

    A key is required only with a real adapter configured; then it must be at least 32 characters, not a
    known placeholder nor a sentence about one, not one character (or a few) repeated, and carry at
    least 80 bits by its character frequencies."""
    real = real_adapters(settings)
    if not real:
        return None
    problem = weakness(settings.secret_key)
    if problem is None:
        return None
    return (
        f"{VARIABLE} {problem}. With a real adapter configured ({', '.join(real)}) every process needs the"
        f" same long random key: make one with  {HOW_TO_MAKE_ONE}  and set it in the environment"
        " (docker compose: .env; Kubernetes: k8s/overlays/<env>/secret.env)"
    )
