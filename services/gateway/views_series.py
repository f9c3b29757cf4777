"""Recurring searches over HTTP: the API (`GET`/`DELETE /api/series/<id>`), the series' status page,
and its stop link.

Every email of a series carries `/series/<id>/stop?sig=...`, signed under IMGJOB_SECRET_KEY. Opening
it only asks (mail scanners open links): a page with one button, a CSRF-protected form whose POST stops
the series. The status page has the same button. A wrong signature is refused (403) and changes nothing.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, render_template, request, url_for
from werkzeug.wrappers import Response as WerkzeugResponse

from services.gateway import csrf, presenters_series
from services.gateway.presenters import format_time
from services.gateway.series_commands import series_view, stop_series
from services.gateway.state import adapters, is_job_id, metrics, public_url
from shared.series_signing import is_valid_stop_signature

log = logging.getLogger(__name__)

bp = Blueprint("series", __name__)

NO_SUCH_SERIES = "No series with this id; it may have ended and been deleted."
PageResult = tuple[str, int] | str | WerkzeugResponse


def _not_found_json() -> Response:
    response = jsonify({"errors": {"id": NO_SUCH_SERIES}})
    response.status_code = 404
    return response


def _json(series_id: str) -> Response:
    view = series_view(adapters(), series_id) if is_job_id(series_id) else None
    if view is None:
        return _not_found_json()
    return jsonify(presenters_series.series_json(view, public_url()))


@bp.get("/api/series/<series_id>")
def get_series(series_id: str) -> Response:
    return _json(series_id)


@bp.delete("/api/series/<series_id>")
def delete_series(series_id: str) -> Response:
    """Stop the series (idempotent): no later run starts; a run waiting for its time is cancelled."""
    if not is_job_id(series_id) or stop_series(adapters(), series_id) is None:
        return _not_found_json()
    return _json(series_id)


def _page(series_id: str, **extra: object) -> PageResult:
    view = series_view(adapters(), series_id) if is_job_id(series_id) else None
    if view is None:
        return render_template("not_found.html", message=NO_SUCH_SERIES), 404
    series = view.series
    return render_template(
        "series.html",
        series=series,
        label=presenters_series.SERIES_LABELS[series.status],
        repeat=presenters_series.repeat_words(series),
        until=presenters_series.last_day(series).isoformat(),
        next_at=format_time(view.next.scheduled_at, series.timezone) if view.next else "",
        next_id=view.next.job_id if view.next else "",
        runs=presenters_series.run_rows(view),
        **extra,
    )


@bp.get("/series/<series_id>")
def status(series_id: str) -> PageResult:
    return _page(series_id)


def _signed(series_id: str) -> bool | None:
    """True for the emailed link's signature, None for none, False for a wrong one."""
    signature = request.args.get("sig", "")
    if not signature:
        return None
    return is_valid_stop_signature(adapters().settings.secret_key, series_id, signature)


def _bad_signature(series_id: str) -> tuple[str, int]:
    page = render_template(
        "error.html",
        title="This link is not valid",
        message="This stop link was changed or cut short. Open it again from the email, or stop the "
        "series from its page.",
        back_url=url_for("series.status", series_id=series_id),
        back_label="The series' page",
    )
    return page, 403


@bp.get("/series/<series_id>/stop")
def confirm_stop(series_id: str) -> PageResult:
    if not is_job_id(series_id):
        return render_template("not_found.html", message=NO_SUCH_SERIES), 404
    if _signed(series_id) is False:
        return _bad_signature(series_id)
    return _page(series_id, confirm=True, sig=request.args.get("sig", ""))


@bp.post("/series/<series_id>/stop")
def stop(series_id: str) -> PageResult:
    if not is_job_id(series_id):
        return render_template("not_found.html", message=NO_SUCH_SERIES), 404
    if _signed(series_id) is False:
        return _bad_signature(series_id)
    if not csrf.request_is_valid():
        metrics().csrf_failures.inc()
        return csrf.refused_button(url_for("series.status", series_id=series_id))
    if stop_series(adapters(), series_id) is None:
        return render_template("not_found.html", message=NO_SUCH_SERIES), 404
    return _page(series_id, stopped_now=True)
