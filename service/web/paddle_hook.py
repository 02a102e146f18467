"""``POST /hooks/paddle``: verify a Paddle Billing notification, store it once, hand it to a job, answer.

Paddle signs every delivery with ``Paddle-Signature: ts=<unix>;h1=<hex>`` (HMAC-SHA256 over
``"<ts>:<raw body>"``), checked with the official SDK's Verifier against every secret in
``PADDLE_WEBHOOK_SECRETS`` (rotation) within ``PADDLE_WEBHOOK_TOLERANCE_S``. A forged, stale or
unsigned delivery gets 401, is logged and counted, and stores nothing. A verified one is stored in
``webhook_events`` under its unique ``event_id`` and the ``paddle`` job is enqueued for its row: 200.
A repeat (Paddle delivers at least once, and retries for days) stores nothing more; if its row is not
yet final the job is enqueued again (a no-op while it waits), which recovers an enqueue lost to a
Redis failure. Nothing is credited here: the job does that (service/billing.py).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis
from flask import Response, current_app, jsonify, request

from service import billing, metrics
from service.integrations.directus import DirectusError
from service.integrations.paddle import HEADER, PayloadError, parse_event, verify
from service.jobs.queue import enqueue
from service.web.hooks import bp

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024


def _reject(status: int, reason: str) -> tuple[Response, int]:
    log.warning("rejected a Paddle delivery from %s: %s", request.remote_addr or "unknown", reason)
    metrics.count(current_app.extensions["redis"], metrics.WEBHOOK_REJECTIONS, "paddle", reason)
    return jsonify(error=reason), status


@bp.post("/paddle")
def paddle_event() -> Any:
    """Accept one signed Paddle notification: verify → parse → store once → enqueue → 200."""
    config = current_app.config
    secrets = billing.webhook_secrets(config)
    if not secrets:
        return _reject(503, "no PADDLE_WEBHOOK_SECRETS configured")
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _reject(413, "body too large")
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY_BYTES:
        return _reject(413, "body too large")
    problem = verify(
        request.headers.get(HEADER), body, secrets, int(config["PADDLE_WEBHOOK_TOLERANCE_S"])
    )
    if problem is not None:
        return _reject(401, problem)
    try:
        raw = json.loads(body)
        event = parse_event(raw)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return _reject(400, "body is not JSON")
    except PayloadError as exc:
        return _reject(400, str(exc))

    try:
        row, created = billing.record_event(current_app.extensions["directus"], event, raw)
    except DirectusError:
        log.exception("could not store Paddle event %s", event.event_id)
        return jsonify(error="storage unavailable; deliver again later"), 503
    if not created and row.get("status") in billing.FINAL:
        return jsonify(status="duplicate", event_id=event.event_id), 200
    try:
        job = enqueue("paddle", row["id"], connection=current_app.extensions["redis"])
    except redis.RedisError:
        # Stored but not started: answer 503 so Paddle delivers again, and that retry enqueues it.
        log.exception("Redis failed while enqueuing Paddle event %s", event.event_id)
        return jsonify(error="queue unavailable; deliver again later"), 503
    log.info(
        "Paddle %s %s stored as %s → %s", event.event_type, event.event_id, row["id"], job.job_id
    )
    return jsonify(
        status="accepted" if created else "duplicate", event_id=event.event_id, job=job.job_id
    ), 200
