"""Endpoints for operators and tools: liveness, readiness, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

import logging
import uuid

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.gateway.openapi import openapi_document
from services.gateway.state import adapters, metrics, public_url

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process answers; says nothing about its dependencies (that is /readyz)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready when the store and the object storage answer a read and the bus a ping."""
    checks: dict[str, str] = {}
    probe = uuid.uuid4().hex
    found = adapters()
    try:
        found.store.get_job(probe)
        checks["store"] = "ok"
    except Exception:
        log.exception("readiness: the store did not answer")
        checks["store"] = "unavailable"
    try:
        found.blobs.size(f"readyz/{probe}")
        checks["blobs"] = "ok"
    except Exception:
        log.exception("readiness: object storage did not answer")
        checks["blobs"] = "unavailable"
    try:
        found.bus.ping()
        checks["bus"] = "ok"
    except Exception:
        log.exception("readiness: the message bus did not answer")
        checks["bus"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    response = jsonify({"status": "ok" if ready else "unavailable", "checks": checks})
    response.status_code = 200 if ready else 503
    return response


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    return Response(generate_latest(metrics().registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(public_url()))
