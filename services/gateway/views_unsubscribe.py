"""Unsubscribing: the link every email carries in `List-Unsubscribe` (RFC 8058 one-click).

- `GET /unsubscribe/<token>` only asks (mail scanners and link previews open links): a page with one
  button, a CSRF-protected form.
- `POST /unsubscribe/<token>` from that form, or from a mail client's "Unsubscribe" button with the
  body `List-Unsubscribe=One-Click` and nothing else (it cannot hold a CSRF token, and needs none: the
  signed token is the authority, and a forged cross-site post could do nothing its author cannot do
  by posting the same body directly), puts the mailbox's keyed hash on the suppression list.

From then on submissions for the mailbox are refused and the notifier sends it nothing. A token that
is malformed or not signed by our key is answered 404, the same for both, and changes nothing.
"""

from __future__ import annotations

import logging

from flask import Blueprint, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from services.gateway import csrf
from services.gateway.state import adapters, metrics
from shared.unsubscribe import address_hash_of

log = logging.getLogger(__name__)

bp = Blueprint("unsubscribe", __name__)

ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"
ONE_CLICK_BODY = f"{ONE_CLICK_FIELD}={ONE_CLICK_VALUE}".encode()
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
BAD_LINK = (
    "This unsubscribe link is not valid: it may have been cut short or changed. "
    "Open it again from the email, exactly as it was sent."
)
PageResult = tuple[str, int] | str | WerkzeugResponse


def _address_hash(token: str) -> str | None:
    return address_hash_of(adapters().settings.secret_key, token)


def _bad_link() -> tuple[str, int]:
    return render_template("not_found.html", message=BAD_LINK), 404


def _is_one_click() -> bool:
    """The RFC 8058 body, `List-Unsubscribe=One-Click`, form-encoded (either way) or sent bare."""
    if request.mimetype in FORM_TYPES:
        return request.form.to_dict(flat=False) == {ONE_CLICK_FIELD: [ONE_CLICK_VALUE]} and not request.files
    return request.get_data(cache=True).strip() == ONE_CLICK_BODY


@bp.get("/unsubscribe/<token>")
def confirm(token: str) -> PageResult:
    address_hash = _address_hash(token)
    if address_hash is None:
        return _bad_link()
    already = adapters().store.is_suppressed(address_hash)
    return render_template("unsubscribe.html", token=token, already=already)


@bp.post("/unsubscribe/<token>")
def unsubscribe(token: str) -> PageResult:
    address_hash = _address_hash(token)
    if address_hash is None:
        return _bad_link()
    if _is_one_click():
        channel = "one_click"
    elif csrf.request_is_valid():
        channel = "form"
    else:
        metrics().csrf_failures.inc()
        return csrf.refused_button(url_for("unsubscribe.confirm", token=token))
    adapters().store.suppress(address_hash)
    metrics().unsubscribes.labels(channel).inc()
    log.info("an address unsubscribed (%s)", channel)
    return render_template("unsubscribe_done.html")
