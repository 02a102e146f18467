"""The DJ site: server-rendered pages for accounts, library, sets and legal documents.

Every page reads and writes Directus with the service token (DJs have no Directus permissions at
all), so this blueprint is where ownership is enforced: an item that is not the logged-in DJ's answers
404, exactly as an item that does not exist.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import unquote

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import HTTPException

from service.integrations.directus import (
    DirectusClient,
    DirectusError,
    DirectusForbidden,
    DirectusNotFound,
)
from service.web import security

log = logging.getLogger(__name__)

bp = Blueprint("site", __name__)

F = TypeVar("F", bound=Callable[..., Any])

USER_FIELDS = ("id", "email", "display_name", "first_name", "status", "music_folder_macos",
               "music_folder_windows")  # fmt: skip
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def directus() -> DirectusClient:
    """The service's Directus client (service token)."""
    return current_app.extensions["directus"]


def site_url(path: str) -> str:
    """An absolute URL on the public site, for links Directus puts in its mails."""
    return str(current_app.config["SITE_URL"]).rstrip("/") + path


@bp.before_app_request
def load_user() -> None:
    """Put the logged-in DJ (or None) in ``g.user``; a suspended or deleted account is logged out."""
    g.user = None
    if request.blueprint not in ("site", None) or request.endpoint == "static":
        return
    record = security.current_session()
    if record is None:
        return
    try:
        user = directus().get_item("directus_users", record.user_id, fields=list(USER_FIELDS))
    except (DirectusForbidden, DirectusNotFound):
        user = None
    except DirectusError:
        if request.blueprint == "site":
            raise  # the site's own error page says Directus is unavailable
        return  # e.g. a 404 page: shown without the DJ's name rather than failing
    if not user or user.get("status") != "active":
        log.info("ended a session whose account is gone or not active")
        security.end_session()
        return
    g.user = user


#: The routes that take a large body (audio uploads), and only from a logged-in DJ.
LARGE_BODY_ENDPOINTS = frozenset({"site.upload"})
#: One-click unsubscribe (RFC 8058): the mail provider POSTs without any session; the signed token in
#: the URL is the only credential, and all it can do is withdraw a consent.
CSRF_EXEMPT_ENDPOINTS = frozenset({"site.unsubscribe"})


@bp.before_request
def protect_forms() -> None:
    """Bound the body, then require the session's CSRF token on every unsafe request.

    Every body is limited to ``MAX_FORM_BYTES`` unless a logged-in DJ posts to an upload route
    (``MAX_UPLOAD_BYTES``). The limit is checked against the declared length before anything is
    read, so an anonymous client cannot make the site read gigabytes to reach the CSRF check.
    """
    if request.endpoint in LARGE_BODY_ENDPOINTS and g.get("user") is not None:
        request.max_content_length = int(current_app.config["MAX_UPLOAD_BYTES"])
    if request.endpoint in CSRF_EXEMPT_ENDPOINTS:
        return
    security.check_csrf()


def login_required(view: F) -> F:
    """Send a visitor who is not logged in to the log-in page, coming back here afterwards."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.get("user") is None:
            if request.method == "GET" and not request.path.endswith((".json", "/status")):
                return redirect(url_for("site.login", next=request.full_path.rstrip("?")))
            abort(404)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def current_user_id() -> str:
    """The logged-in DJ's id (only inside ``login_required`` views)."""
    return str(g.user["id"])


def confirm_deletion_page(heading: str, line: str, action: str, button: str, cancel: str) -> str:
    """The page a destructive form answers first: it posts again with ``confirm=delete``."""
    return render_template(
        "confirm.html",
        heading=heading,
        lines=[line],
        action=action,
        hidden={},
        confirm_name="confirm",
        confirm_value="delete",
        button=button,
        button_class="danger",
        cancel=cancel,
    )


def owned_or_404(collection: str, key: str, fields: Sequence[str] = ("*",)) -> dict[str, Any]:
    """The item if it exists and belongs to the logged-in DJ; 404 otherwise (never 403)."""
    if not _UUID.match(str(key)):
        abort(404)
    wanted = list(dict.fromkeys([*fields, "owner"])) if "*" not in fields else list(fields)
    try:
        item = directus().get_item(collection, key, fields=wanted)
    except (DirectusForbidden, DirectusNotFound):
        abort(404)
    owner = item.get("owner")
    if isinstance(owner, dict):
        owner = owner.get("id")
    if not item or str(owner) != current_user_id():
        abort(404)
    return item


# A same-site path: "/", then path and query characters only (no spaces, controls or backslashes).
_LOCAL_PATH = re.compile(r"^/(?![/\\])[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*$")


def safe_next(target: str | None) -> str | None:
    """A same-site path to go back to after logging in; anything else is dropped.

    Browsers forgive a lot: they drop tabs and newlines from URLs and read a backslash as a slash,
    so "/\t/evil.example" or "/\\evil.example" lead off-site. Only a plain absolute path is kept,
    checked again once percent-decoded (an encoded "//" or "\\" is refused too).
    """
    if not target or len(target) > 2048 or not _LOCAL_PATH.match(target):
        return None
    decoded = unquote(target)
    if decoded != target and not _LOCAL_PATH.match(decoded.replace(" ", "%20")):
        return None
    return target


def _wants_html() -> bool:
    return not request.path.startswith(("/hooks", "/api", "/healthz", "/readyz")) and (
        request.accept_mimetypes.accept_html or not request.accept_mimetypes.accept_json
    )


def render_error(error: HTTPException) -> Any:
    """HTML error pages for people; JSON stays JSON for machines."""
    status = error.code or 500
    if not _wants_html():
        return jsonify(error=error.name, status=status), status
    response = current_app.make_response(
        (render_template("error.html", status=status, error=error), status)
    )
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


@bp.errorhandler(DirectusError)
def render_unavailable(error: DirectusError) -> Any:
    """Directus down or refusing us: say so plainly instead of a stack trace."""
    log.warning("Directus failed during %s %s: %s", request.method, request.path, error)
    return render_template("error.html", status=503, error=None), 503


def init_site(app: Flask) -> None:
    """Register the site blueprint with its security, error pages and template helpers."""
    from service.web.site import (  # noqa: F401
        accounts,
        beatport,
        billing,
        consent,
        filters,
        legal,
        library,
        privacy,
        profile,
        sets,
    )

    security.init_security(app)
    filters.register(app)
    for status in (400, 404, 405, 413, 429):
        app.register_error_handler(status, render_error)
    app.register_blueprint(bp)
