"""``POST /hooks/directus``: verify a signed Directus event, dedupe it, enqueue its job, answer 202.

The aidj-events extension signs ``{id, event, collection, keys, user, ts}`` with HMAC-SHA256 over
``"<timestamp>." + raw body`` and sends ``X-AIDJ-Timestamp`` and ``X-AIDJ-Signature: v1=<hex>`` (more
than one ``v1=`` while a secret is being rotated). A forged or stale request gets 401, a malformed one
400; both are logged and start nothing. A duplicate delivery (same event id, remembered in Redis with
``SET NX`` and a TTL) starts nothing more. No work happens here: the job does it.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import redis
from flask import Blueprint, Response, current_app, jsonify, request

from service import metrics
from service.jobs.events import load_event_map
from service.jobs.queue import enqueue

log = logging.getLogger(__name__)

bp = Blueprint("hooks", __name__, url_prefix="/hooks")

TIMESTAMP_HEADER = "X-AIDJ-Timestamp"
SIGNATURE_HEADER = "X-AIDJ-Signature"
MAX_BODY_BYTES = 64 * 1024
MAX_KEYS = 1000
DEDUPE_PREFIX = "aidj:hook-event:"


def sign(secret: str, timestamp: str | int, body: bytes) -> str:
    """The ``v1=<hex>`` signature of ``body`` at ``timestamp`` (the extension computes the same)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signature_valid(secrets: list[str], timestamp: str, body: bytes, header: str) -> bool:
    """True when any ``v1=`` signature in ``header`` matches any secret (constant-time compare)."""
    offered = [part.strip() for part in header.split(",") if part.strip().startswith("v1=")]
    ok = False
    for secret in secrets:
        expected = sign(secret, timestamp, body)
        for candidate in offered:
            # Compare every pair so timing says nothing about which one matched.
            ok |= hmac.compare_digest(expected.encode(), candidate.encode())
    return ok


def _reject(status: int, reason: str) -> tuple[Response, int]:
    log.warning("rejected a Directus event from %s: %s", request.remote_addr or "unknown", reason)
    metrics.count(current_app.extensions["redis"], metrics.WEBHOOK_REJECTIONS, "directus", reason)
    return jsonify(error=reason), status


def _valid_event(body: Any) -> str | None:
    """Why the parsed body is not a well-formed event, or None when it is."""
    if not isinstance(body, dict):
        return "the body is not a JSON object"
    if not isinstance(body.get("id"), str) or not 8 <= len(body["id"]) <= 100:
        return "id must be a string of 8 to 100 characters"
    for name in ("event", "collection"):
        if not isinstance(body.get(name), str) or not body[name]:
            return f"{name} must be a non-empty string"
    keys = body.get("keys")
    if not isinstance(keys, list) or not keys or len(keys) > MAX_KEYS:
        return f"keys must be a list of 1 to {MAX_KEYS} item keys"
    if not all(isinstance(k, str | int) and not isinstance(k, bool) for k in keys):
        return "keys must be strings or integers"
    if not isinstance(body.get("ts"), int | float):
        return "ts must be a number"
    return None


@bp.post("/directus")
def directus_event() -> Any:
    """Accept one signed Directus event and enqueue the job the event map names for each key."""
    config = current_app.config
    secrets = [s for s in (config.get("HOOK_SECRET"), config.get("HOOK_SECRET_PREVIOUS")) if s]
    if not secrets:
        return _reject(503, "no HOOK_SECRET configured")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _reject(413, "body too large")
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY_BYTES:
        return _reject(413, "body too large")
    timestamp = request.headers.get(TIMESTAMP_HEADER, "")
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not timestamp or not signature:
        return _reject(401, "missing timestamp or signature header")
    if not timestamp.isdigit() or len(timestamp) > 12:
        return _reject(400, "timestamp is not a unix time in seconds")
    if not signature_valid(secrets, timestamp, body, signature):
        return _reject(401, "signature does not match")
    if abs(time.time() - int(timestamp)) > int(config["HOOK_TOLERANCE_S"]):
        return _reject(401, "timestamp outside the accepted window")
    try:
        event = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _reject(400, "body is not JSON")
    if (problem := _valid_event(event)) is not None:
        return _reject(400, problem)

    pipeline = load_event_map().pipeline_for(event["event"], event["collection"])
    if pipeline is None:
        log.info(
            "Directus event %s on %s is not in the event map", event["event"], event["collection"]
        )
        return jsonify(status="ignored", id=event["id"]), 202

    connection: redis.Redis = current_app.extensions["redis"]
    dedupe_key = DEDUPE_PREFIX + event["id"]
    try:
        first = connection.set(dedupe_key, "1", nx=True, ex=int(config["HOOK_DEDUPE_TTL_S"]))
        if not first:
            return jsonify(status="duplicate", id=event["id"]), 202
        jobs = [enqueue(pipeline.name, key, connection=connection).job_id for key in event["keys"]]
    except redis.RedisError:
        log.exception("Redis failed while accepting event %s", event["id"])
        # Forget the event so the extension's retry (or the sweep) can still start it.
        with contextlib.suppress(redis.RedisError):
            connection.delete(dedupe_key)
        return jsonify(error="queue unavailable"), 503
    except ValueError as exc:  # a key that cannot form a job id
        connection.delete(dedupe_key)
        return _reject(400, str(exc))
    log.info("Directus %s on %s %s → %s", event["event"], event["collection"], event["keys"], jobs)
    return jsonify(status="accepted", id=event["id"], jobs=jobs), 202
