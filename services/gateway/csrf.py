"""CSRF protection for the HTML forms: a per-session secret, echoed in a hidden input and checked on POST.

The session is Flask's signed cookie (SameSite=Lax), so another site can neither read the token nor
forge the cookie. The JSON API is not cookie-authenticated and is not covered: a forged cross-site
request could do nothing through it that its author cannot do directly.
"""

from __future__ import annotations

import hmac
import secrets

from flask import render_template, request, session

FIELD = "csrf_token"
SESSION_KEY = "csrf"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXPIRED_FORM = (
    "This form had expired or came from somewhere else, so nothing was sent. Check the fields and submit again."
)


def token() -> str:
    """The session's token, created on first use; templates put it in a hidden input named `csrf_token`."""
    current = session.get(SESSION_KEY)
    if not isinstance(current, str) or not current:
        current = secrets.token_urlsafe(32)
        session[SESSION_KEY] = current
    return current


def request_is_valid() -> bool:
    """True for safe methods, and for unsafe ones that carry the session's token."""
    if request.method not in UNSAFE_METHODS:
        return True
    expected = session.get(SESSION_KEY)
    sent = request.form.get(FIELD, "")
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode("utf-8"), sent.encode("utf-8", "surrogatepass"))


def refused_button(back_url: str) -> tuple[str, int]:
    """The 400 page for a button's POST without the session's token (an expired page, or another site)."""
    page = render_template(
        "error.html",
        title="Nothing was changed",
        message="The page this button was on had expired, or the request came from another site. "
        "Go back, reload the page and try again.",
        back_url=back_url,
        back_label="Back",
    )
    return page, 400
