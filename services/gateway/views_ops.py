"""Endpoints for operators and tools: liveness, readiness, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.gateway.openapi import openapi_document
from services.gateway.state import adapters, metrics, public_url
from shared import readiness

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process answers; says nothing about its dependencies (that is /readyz)."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz() -> Response:
    """Ready when the store, the object storage and the bus answer and have been migrated."""
    checks = readiness.check(adapters())
    ready = all(value == readiness.OK for value in checks.values())
    response = jsonify({"status": "ok" if ready else "unavailable", "checks": checks})
    response.status_code = 200 if ready else 503
    return response


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    return Response(generate_latest(metrics().registry), headers={"Content-Type": CONTENT_TYPE_LATEST})


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(openapi_document(public_url()))
