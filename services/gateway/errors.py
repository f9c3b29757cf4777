"""Error pages: JSON under /api/, HTML elsewhere, and never a stack trace for the caller."""

from __future__ import annotations

import logging

from flask import Flask, Response, render_template, request
from werkzeug.exceptions import HTTPException, InternalServerError, MethodNotAllowed

from services.gateway.views_api import error_response

log = logging.getLogger(__name__)

API_MESSAGES: dict[int, tuple[str, str]] = {
    400: ("body", "The request could not be understood."),
    404: ("path", "There is nothing at this address."),
    405: ("method", "This method is not allowed here."),
    413: ("body", "The request body is too large."),
    500: ("server", "Something went wrong on our side; please try again."),
}


def _is_api() -> bool:
    return request.path.startswith("/api/")


def handle_http_error(error: HTTPException) -> Response:
    code = error.code or 500
    if isinstance(error, InternalServerError):
        log.error("unhandled error on %s %s", request.method, request.path, exc_info=error.original_exception)
    if _is_api():
        field, message = API_MESSAGES.get(code, ("request", error.description or "The request failed."))
        response = error_response(code, {field: message})
    else:
        if code == 404:
            page = render_template("not_found.html", message="There is nothing at this address.")
        else:
            page = render_template("error.html", code=code, title=error.name, message=error.description)
        response = Response(page, status=code, mimetype="text/html")
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def register(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_error)
