"""Liveness and readiness for load balancers and the operator."""

from __future__ import annotations

from typing import Any

import redis
from flask import Blueprint, current_app, jsonify

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
