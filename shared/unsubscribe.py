"""Mailboxes as keyed hashes, and the signed one-click unsubscribe token of every email (RFC 8058).

One person, one mailbox: `Name+news@Example.com` and `name@example.com` reach the same inbox, and so
do `n.a.m.e@googlemail.com` and `name@gmail.com`. `normalise_mailbox` folds such spellings into one,
and both the suppression list and the per-mailbox rate limit key on it, so neither can be walked
around by re-spelling an address.

Nothing stores an address: the suppression list holds `mailbox_hash(key, email)`, an HMAC-SHA256 under
IMGJOB_SECRET_KEY, which cannot be turned back into the address (nor checked against a guessed one)
without the key. The unsubscribe token carries that hash and a signature over it:

    <base64url of the 32-byte mailbox hash> "." <base64url of 16 bytes of HMAC("unsubscribe:" + hash)>

so following the link tells the gateway which hash to suppress without the address ever appearing in a
URL, a log or a mail server's records, and nobody without the key can make a token (or fill the list
with made-up hashes). Tokens do not expire: an unsubscribe link must work as long as the mail is kept.
Rotating the key invalidates the tokens already sent and forgets the suppression list.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import unicodedata

from shared.signing import keyed_digest, keyed_hash

MAILBOX_PURPOSE = "mailbox"
TOKEN_PURPOSE = "unsubscribe"
SIGNATURE_BYTES = 16
# Domains whose local parts ignore dots, and the one name they go by.
DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}
_B64 = r"[A-Za-z0-9_-]"
# 32 bytes are 43 base64url characters unpadded, 16 bytes 22.
TOKEN_RE = re.compile(rf"^({_B64}{{43}})\.({_B64}{{22}})$")


def normalise_mailbox(email: str) -> str:
    """The mailbox an address delivers to: NFC, lowercased, `+tag` dropped from the local part, and for
    gmail.com (and googlemail.com, which becomes gmail.com) the local part's dots dropped."""
    address = unicodedata.normalize("NFC", email).strip().lower()
    local, at, domain = address.rpartition("@")
    if not at:
        return address
    domain = domain.rstrip(".")
    local = local.split("+", 1)[0] or local  # "+only@x" keeps its local part rather than none
    if domain in DOTLESS_DOMAINS:
        domain = DOTLESS_DOMAINS[domain]
        local = local.replace(".", "") or local
    return f"{local}@{domain}"


def mailbox_hash(secret_key: str, email: str) -> str:
    """What the suppression list holds for `email`: the keyed hash of its normalised mailbox."""
    return keyed_hash(secret_key, MAILBOX_PURPOSE, normalise_mailbox(email))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes | None:
    """The bytes of canonical unpadded base64url `text`; None for any other spelling of them."""
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    return data if _b64(data) == text else None


def _signature(secret_key: str, address_hash: str) -> bytes:
    return keyed_digest(secret_key, TOKEN_PURPOSE, address_hash)[:SIGNATURE_BYTES]


def unsubscribe_token(secret_key: str, email: str) -> str:
    """The URL-safe token of the unsubscribe link in every email to `email` (66 characters)."""
    address_hash = mailbox_hash(secret_key, email)
    return f"{_b64(bytes.fromhex(address_hash))}.{_b64(_signature(secret_key, address_hash))}"


def address_hash_of(secret_key: str, token: str) -> str | None:
    """The mailbox hash a token was made for, if this key made it; None for anything else."""
    match = TOKEN_RE.match(token)
    if match is None:
        return None
    digest, signature = _unb64(match.group(1)), _unb64(match.group(2))
    if digest is None or signature is None:
        return None
    address_hash = digest.hex()
    if not hmac.compare_digest(_signature(secret_key, address_hash), signature):
        return None
    return address_hash
