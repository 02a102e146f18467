"""The site's defences: server-side sessions, CSRF tokens, security headers and rate limits.

Sessions live in Redis; the browser holds only a random session id inside Flask's signed, HttpOnly,
SameSite=Lax cookie (Secure when the site is served over https). The DJ's Directus refresh token stays
on the server, so no script can read it, and logging out deletes the record and ends the Directus
session.

The Content-Security-Policy allows no inline script or style at all (no nonces): every script and
stylesheet is a file under ``/static``, and the energy chart is SVG drawn with presentation attributes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import secrets
import time
from dataclasses import dataclass

import redis
from flask import Flask, Response, abort, current_app, g, request, session

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
HSTS = "max-age=31536000; includeSubDomains"

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"

SESSION_PREFIX = "aidj:session:"
USER_SESSIONS_PREFIX = "aidj:user-sessions:"
RATE_PREFIX = "aidj:rate:"


def serves_https(app: Flask) -> bool:
    """True when the configured public address of the site is https."""
    return str(app.config.get("SITE_URL", "")).startswith("https://")


def init_security(app: Flask) -> None:
    """Cookie flags, security headers on every answer, and ``csrf_token()`` in templates."""
    app.config.update(
        SESSION_COOKIE_NAME="aidj_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=serves_https(app),
        PERMANENT_SESSION_LIFETIME=int(app.config["SESSION_TTL_S"]),
    )
    app.after_request(add_security_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.jinja_env.globals["CSRF_FIELD"] = CSRF_FIELD


def add_security_headers(response: Response) -> Response:
    """Every answer carries the CSP and friends; HSTS only where the site is served over https."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.is_secure or serves_https(current_app):
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    if request.endpoint != "static" and (session.get("sid") or request.blueprint == "site"):
        # Pages with personal data must not sit in shared caches or the back-forward cache.
        response.headers.setdefault("Cache-Control", "no-store")
    return response


# -- CSRF -------------------------------------------------------------------------------------------
def csrf_token() -> str:
    """The session's CSRF token, created on first use; every form sends it back."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    """Refuse (400) an unsafe request whose form field or header does not carry the session's token."""
    if request.method not in UNSAFE_METHODS:
        return
    expected = session.get("csrf")
    sent = request.headers.get(CSRF_HEADER) or request.form.get(CSRF_FIELD)
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        log.info("refused a %s to %s without a valid CSRF token", request.method, request.path)
        abort(400, description="csrf")


# -- server-side sessions ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SessionRecord:
    """What the server keeps about one logged-in browser."""

    user_id: str
    refresh_token: str | None
    started_at: float


def _redis() -> redis.Redis:
    return current_app.extensions["redis"]


def start_session(user_id: str, refresh_token: str | None) -> None:
    """Log ``user_id`` in: a fresh session id (no fixation), a fresh CSRF token, the record in Redis."""
    session.clear()
    sid = secrets.token_urlsafe(32)
    record = {"user_id": user_id, "refresh_token": refresh_token, "started_at": time.time()}
    ttl = int(current_app.config["SESSION_TTL_S"])
    pipe = _redis().pipeline()
    pipe.set(SESSION_PREFIX + sid, json.dumps(record), ex=ttl)
    # Each DJ's session ids, so a password reset can end them all.
    pipe.sadd(USER_SESSIONS_PREFIX + user_id, sid)
    pipe.expire(USER_SESSIONS_PREFIX + user_id, ttl)
    pipe.execute()
    session["sid"] = sid
    session.permanent = True
    g.pop("session_record", None)


def current_session() -> SessionRecord | None:
    """The logged-in browser's record, or None (no cookie, expired, or logged out elsewhere)."""
    if "session_record" in g:
        return g.session_record
    record = None
    sid = session.get("sid")
    if sid:
        raw = _redis().get(SESSION_PREFIX + str(sid))
        if raw:
            data = json.loads(raw)
            record = SessionRecord(data["user_id"], data.get("refresh_token"), data["started_at"])
    g.session_record = record
    return record


def end_session() -> SessionRecord | None:
    """Forget the browser's session on the server and in the cookie; returns what it was."""
    record = current_session()
    sid = session.get("sid")
    if sid:
        pipe = _redis().pipeline()
        pipe.delete(SESSION_PREFIX + str(sid))
        if record is not None:
            pipe.srem(USER_SESSIONS_PREFIX + record.user_id, str(sid))
        pipe.execute()
    session.clear()
    g.session_record = None
    return record


def end_sessions_of(user_id: str) -> list[SessionRecord]:
    """End every session of one DJ (after a password reset); returns the records that were live."""
    connection = _redis()
    sids = [sid.decode() if isinstance(sid, bytes) else sid
            for sid in connection.smembers(USER_SESSIONS_PREFIX + user_id)]  # fmt: skip
    records = []
    for sid in sids:
        raw = connection.get(SESSION_PREFIX + sid)
        if raw:
            data = json.loads(raw)
            records.append(
                SessionRecord(data["user_id"], data.get("refresh_token"), data["started_at"])
            )
    connection.delete(USER_SESSIONS_PREFIX + user_id, *(SESSION_PREFIX + sid for sid in sids))
    return records


# -- rate limits ------------------------------------------------------------------------------------
def client_address() -> str:
    """The caller's address (ProxyFix rewrites it when the app runs behind a trusted proxy)."""
    return request.remote_addr or "unknown"


def rate_limited(action: str, subject: str, limit: int, window_s: int) -> int | None:
    """Count one attempt at ``action`` by ``subject``; seconds to wait when over ``limit``, else None.

    A sliding window: the times of the attempts in the last ``window_s`` seconds are kept in a
    Redis sorted set, so at most ``limit`` attempts pass in any window (a fixed window lets twice
    the limit through across its edge). A refused attempt is not counted, so the wait ends when the
    oldest counted attempt leaves the window. Subjects are hashed: no email or address in clear.
    """
    digest = hashlib.sha256(f"{action}\0{subject}".encode()).hexdigest()[:32]
    key = f"{RATE_PREFIX}{action}:{digest}"
    now = time.time()
    member = f"{now:.6f}:{secrets.token_hex(4)}"
    pipe = _redis().pipeline(transaction=True)
    pipe.zremrangebyscore(key, "-inf", now - window_s)
    pipe.zadd(key, {member: now})
    pipe.zcard(key)
    pipe.zrange(key, 0, 0, withscores=True)
    pipe.expire(key, window_s + 1)
    _, _, count, oldest, _ = pipe.execute()
    if count <= limit:
        return None
    _redis().zrem(key, member)
    first = float(oldest[0][1]) if oldest else now
    return max(1, math.ceil(first + window_s - now))


def check_rate_limits(action: str, address: str, account: str | None = None) -> int | None:
    """Count the attempt against the caller's address and the account it names, if any.

    The account's limit is ``RATE_LIMIT_<ACTION>``; an address may hide a household, an office or a
    venue's Wi-Fi, so it gets ``RATE_LIMIT_ADDRESS_FACTOR`` times as many. Seconds to wait if any is
    over, else None.
    """
    limit = int(current_app.config[f"RATE_LIMIT_{action.upper()}"])
    window_s = int(current_app.config["RATE_LIMIT_WINDOW_S"])
    factor = int(current_app.config["RATE_LIMIT_ADDRESS_FACTOR"])
    waits = [rate_limited(action, f"ip:{address}", limit * factor, window_s)]
    if account:
        waits.append(rate_limited(action, f"account:{account}", limit, window_s))
    over = [w for w in waits if w]
    return max(over) if over else None
