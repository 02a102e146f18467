"""The operator's pages (``/ops``): the RQ dashboard, for staff only.

Staff log in here with their Directus account (two-factor code included once they have set it up);
the account must hold the Staff role or administrator access. The staff session lives in the signed
session cookie for ``OPS_SESSION_TTL_S`` and is checked against Directus on every request, so a
suspended account loses it at once. The dashboard (rq-dashboard, mounted at ``/ops/rq``) ships its
own inline scripts and posts its actions without our CSRF token: only its pages get a Content
Security Policy that allows its inline code, and an unsafe request under ``/ops`` must come from
this site (``Origin``/``Referer``), on top of the ``SameSite=Lax`` cookie.
"""

from __future__ import annotations

import logging
import time
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from service.integrations.directus import DirectusAuthError, DirectusError
from service.stack.access import role_id
from service.web.security import CONTENT_SECURITY_POLICY, check_csrf

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__, url_prefix="/ops")
RQ_PREFIX = "/ops/rq"
_SESSION_KEY = "ops"
# rq-dashboard's pages hold inline scripts; nothing else of the site does.
DASHBOARD_CSP = CONTENT_SECURITY_POLICY.replace(
    "script-src 'self'", "script-src 'self' 'unsafe-inline'"
)


def _staff_user() -> str | None:
    """The staff member logged in to /ops, if their account is still active and still staff."""
    record = session.get(_SESSION_KEY)
    if not isinstance(record, dict) or record.get("until", 0) < time.time():
        return None
    directus = current_app.extensions["directus"]
    try:
        user = directus.get_item("directus_users", record["user"], fields=["status", "role"])
    except DirectusError:
        return None
    if user.get("status") != "active":
        return None
    if user.get("role") != role_id("Staff") and not record.get("admin"):
        return None
    return str(record["user"])


def _same_site() -> bool:
    source = request.headers.get("Origin") or request.headers.get("Referer") or ""
    return urlsplit(source).netloc == request.host


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Staff log in with their Directus account; DJs and unknown accounts are refused alike."""
    if request.method == "GET":
        return render_template("ops/login.html", error=None)
    check_csrf()
    email = request.form.get("email", "").strip().lower()
    password = request.form.get("password", "")
    otp = request.form.get("otp", "").strip() or None
    anonymous = current_app.extensions["directus"].with_token(None)
    refused = render_template("ops/login.html", error="Those details do not open a staff account.")
    try:
        tokens = anonymous.login(email, password, otp=otp)
        me = anonymous.with_token(tokens.access_token)
        user = me.me(fields=["id", "role"])
        access = me.call("GET", "/policies/me/globals")
    except DirectusAuthError:
        return refused, 401
    except DirectusError as exc:
        log.info("staff log-in refused: %s", exc.code)
        return refused, 401
    is_admin = bool(access.get("admin_access"))
    if user.get("role") != role_id("Staff") and not is_admin:
        return refused, 401
    session[_SESSION_KEY] = {
        "user": str(user["id"]),
        "admin": is_admin,
        "until": time.time() + int(current_app.config["OPS_SESSION_TTL_S"]),
    }
    log.info("staff %s logged in to /ops", user["id"])
    return redirect(RQ_PREFIX + "/", code=303)


@bp.post("/logout")
def logout() -> Any:
    """End the staff session."""
    check_csrf()
    session.pop(_SESSION_KEY, None)
    return redirect(url_for("ops.login"), code=303)


def _guard_dashboard() -> Any:
    """Before every request to the dashboard: staff only, same-site actions only."""
    if request.blueprint != "rq_dashboard":
        return None
    if _staff_user() is None:
        if request.method == "GET":
            return redirect(url_for("ops.login"))
        abort(403)
    if request.method not in ("GET", "HEAD", "OPTIONS") and not _same_site():
        abort(403)
    return None


def _dashboard_headers(response: Response) -> Response:
    if request.blueprint == "rq_dashboard":
        response.headers["Content-Security-Policy"] = DASHBOARD_CSP
        response.headers["Cache-Control"] = "no-store"
    return response


def init_ops(app: Flask) -> None:
    """Mount /ops and the RQ dashboard on the app's Redis."""
    import rq_dashboard
    from rq_dashboard.web import setup_rq_connection

    app.config.setdefault("RQ_DASHBOARD_REDIS_URL", app.config["REDIS_URL"])
    app.config.setdefault("RQ_DASHBOARD_POLL_INTERVAL", 5000)
    setup_rq_connection(app)
    # On the app, not on rq-dashboard's blueprint: that one object is shared by every app made.
    app.before_request(_guard_dashboard)
    app.after_request(_dashboard_headers)  # runs before the site's headers, which keep these
    app.register_blueprint(bp)
    app.register_blueprint(rq_dashboard.blueprint, url_prefix=RQ_PREFIX)
