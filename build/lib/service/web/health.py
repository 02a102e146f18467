"""Liveness, readiness and metrics for load balancers, the operator and Prometheus."""

from __future__ import annotations

import hmac
from typing import Any

import redis
from flask import Blueprint, Response, abort, current_app, jsonify, request

from service import metrics
from service.integrations.directus import DirectusError
from service.stack.settings import snapshot_version

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    """The process is up and serving."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Any:
    """Ready when Directus answers, Redis answers, and Directus runs the schema this code expects."""
    directus = current_app.extensions["directus"]
    checks: dict[str, str] = {}
    try:
        checks["directus"] = "ok" if directus.ping() else "not answering"
    except DirectusError as exc:
        checks["directus"] = f"unreachable: {exc.message}"
    try:
        current_app.extensions["redis"].ping()
        checks["redis"] = "ok"
    except redis.RedisError as exc:
        checks["redis"] = f"unreachable: {exc.__class__.__name__}"
    expected = snapshot_version()
    if checks["directus"] == "ok":
        try:
            applied = directus.get_singleton("app_settings").get("schema_version")
            checks["schema"] = (
                "ok" if applied == expected else f"expected {expected}, Directus has {applied}"
            )
        except DirectusError as exc:
            checks["schema"] = f"unknown: {exc.message}"
    else:
        checks["schema"] = "unknown: Directus unreachable"
    ready = all(value == "ok" for value in checks.values())
    return jsonify(
        status="ready" if ready else "not ready", checks=checks, schema_version=expected
    ), (200 if ready else 503)


@bp.get("/metrics")
def prometheus_metrics() -> Any:
    """Every operating figure in Prometheus's text format, for a scraper that has ``METRICS_TOKEN``.

    Without a token configured the route does not exist (404); the public proxy never forwards it.
    """
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        abort(404)
    offered = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(offered.encode(), str(token).encode()):
        return jsonify(error="a bearer token is needed"), 401
    return Response(
        metrics.exposition(current_app.extensions["redis"]),
        mimetype="text/plain; version=0.0.4",
    )
