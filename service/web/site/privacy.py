"""The privacy centre: a DJ's requests under the privacy policy, on the site.

Logged in (``/account/privacy``): see every request with its state and due date, ask for a copy of
the data or the account's deletion after re-entering the password, follow an export's progress,
change the marketing choice, correct the profile, read the consent history.

Logged out: ask by email (``/privacy/request``; the answer is the same for every address), confirm
through the emailed single-use, expiring link (``/privacy/confirm``), download an archive through its
signed link (``/privacy/exports/<id>``), restore an account within the grace period
(``/privacy/cancel-deletion``), and unsubscribe from marketing mail with one click (``/unsubscribe``,
RFC 8058: a POST from the mail provider, without a session, carrying only the signed token).

Links are confirmed with a POST from a page, never acted on by a GET, so mail scanners that open
links cannot confirm, cancel or unsubscribe anything by themselves.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from flask import (
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from service import privacy
from service.dj.keys import KeyParseError, parse_key
from service.integrations.directus import (
    DirectusAuthError,
    DirectusError,
    DirectusForbidden,
    DirectusNotFound,
)
from service.jobs.queue import enqueue
from service.privacy import links
from service.privacy.erase import deactivate, restore
from service.privacy.marketing import set_marketing
from service.stack.access import role_id
from service.web import security
from service.web.site import _UUID, bp, current_user_id, directus, login_required, owned_or_404
from service.web.site.accounts import _EMAIL, NAME_MAX, _limit, anonymous

log = logging.getLogger(__name__)

SELF_SERVICE_KINDS = ("access", "portability", "deletion")
EMAIL_KINDS = ("access", "portability", "deletion", "objection", "correction")
REQUEST_SENT = (
    "If an account uses this address, a message with a link to confirm the request is on its way. "
    "Nothing happens until the link is opened."
)
WRONG_PASSWORD = "That password is not right. Nothing was done."


def _secret() -> str:
    return str(current_app.config["SECRET_KEY"])


def _redis() -> Any:
    return current_app.extensions["redis"]


def _enqueue(pipeline: str, item_id: str) -> None:
    enqueue(pipeline, item_id, connection=_redis())


def _password_ok(password: str) -> bool:
    """Re-check the logged-in DJ's password through Directus (the same proof as logging in)."""
    email = str(g.user.get("email") or "")
    _limit("login", email)
    try:
        tokens = anonymous().login(
            email, password, proof_secret=str(current_app.config["HOOK_SECRET"] or "")
        )
    except DirectusAuthError:
        return False
    except DirectusError as exc:
        log.info("password re-entry refused: %s", exc.code)
        return False
    with contextlib.suppress(DirectusError):
        anonymous().logout(tokens.refresh_token)
    return True


def run_verified(req: dict[str, Any], actor: str) -> dict[str, Any]:
    """Carry out a request whose identity was just verified (site or emailed link)."""
    secret = _secret()
    if req["kind"] in ("access", "portability"):
        _enqueue("privacy_export", req["id"])
    elif req["kind"] == "deletion":
        req = deactivate(directus(), _redis(), secret, req, actor=actor)
        _enqueue("privacy_notice", req["id"])
    elif req["kind"] == "objection":
        req = privacy.transition(directus(), secret, req, "in_progress", actor=actor)
        set_marketing(
            directus(), secret, str(req["user"]), False, source="account_settings", actor=actor
        )
        req = privacy.transition(directus(), secret, req, "complete", actor=actor)
    # correction: staff carry it out from the Studio (the DJ corrects most things on the site).
    return req


# -- logged in ------------------------------------------------------------------------------------
def _centre_page(status: int = 200) -> Any:
    user_id = current_user_id()
    profile = directus().get_item("directus_users", user_id,
                                  fields=["id", "email", "display_name", "marketing_opt_in"])  # fmt: skip
    consents = directus().list_items("consent_records", filter={"user": {"_eq": user_id}},
                                     fields=["purpose", "legal_basis", "granted", "document_version", "source",
                                             "date_created"], sort=["-date_created", "-id"], limit=-1)  # fmt: skip
    requests_ = privacy.requests_of(directus(), user_id)
    exports = {
        r["id"]: links.make(_secret(), "export", r["id"]) for r in requests_ if r.get("export_file")
    }
    return render_template("privacy/centre.html", profile=profile, consents=consents, requests=requests_,
                           exports=exports, now=privacy.iso(privacy.now())), status  # fmt: skip


@bp.get("/account/privacy")
@login_required
def privacy_centre() -> Any:
    """The DJ's privacy centre."""
    return _centre_page()


@bp.post("/account/privacy/requests")
@login_required
def privacy_request_create() -> Any:
    """A request from the centre: the password is re-entered, then it runs at once."""
    kind = request.form.get("kind", "")
    if kind not in SELF_SERVICE_KINDS:
        abort(400)
    if kind == "deletion" and request.form.get("confirm") != "yes":
        flash(
            "Tick the box to confirm that the account and everything in it should be deleted.",
            "error",
        )
        return _centre_page(400)
    if not _password_ok(request.form.get("password", "")):
        flash(WRONG_PASSWORD, "error")
        return _centre_page(403)
    user_id = current_user_id()
    secret = _secret()
    existing = privacy.open_request_of(directus(), user_id, kind)
    req = existing or privacy.open_request(directus(), secret, user_id, kind)
    if req["state"] == "received":
        req = privacy.verify(directus(), secret, req, "password", actor=user_id)
        req = run_verified(req, user_id)
    if kind == "deletion":
        security.end_session()
        flash("Your account is deactivated and will be deleted in 30 days. We mailed you a link to "
              "restore it before then.", "info")  # fmt: skip
        return redirect(url_for("site.login"), code=303)
    flash(
        "Your copy is being prepared. This page shows its progress; we will also mail you a link.",
        "info",
    )
    return redirect(url_for("site.privacy_centre"), code=303)


@bp.get("/account/privacy/requests/<request_id>/status")
@login_required
def privacy_request_status(request_id: str) -> Any:
    """An export's progress, in the words the progress script knows."""
    req = _own_request(request_id)
    status = {"received": "queued", "verified": "queued", "in_progress": "running", "complete": "done"}.get(
        req["state"], "failed")  # fmt: skip
    return jsonify(status=status, state=req["state"], progress=req.get("progress") or 0)


def _own_request(request_id: str) -> dict[str, Any]:
    if not _UUID.match(request_id):
        abort(404)
    try:
        req = privacy.get_request(directus(), request_id)
    except (DirectusNotFound, DirectusForbidden):
        abort(404)
    if str(req.get("user")) != current_user_id():
        abort(404)
    return req


@bp.post("/account/privacy/marketing")
@login_required
def privacy_marketing() -> Any:
    """Give or withdraw consent to marketing mail (each change is a consent record)."""
    granted = request.form.get("marketing") == "yes"
    changed = set_marketing(directus(), _secret(), current_user_id(), granted, source="account_settings",
                            actor=current_user_id())  # fmt: skip
    if changed:
        flash(
            "You will receive news by email."
            if granted
            else "You will receive no more marketing mail.",
            "info",
        )
    return redirect(url_for("site.privacy_centre"), code=303)


@bp.post("/account/privacy/profile")
@login_required
def privacy_profile() -> Any:
    """Correct the display name, or the email address (verified again before it is used)."""
    user_id = current_user_id()
    name = request.form.get("display_name", "").strip()
    email = request.form.get("email", "").strip().lower()
    if not name or len(name) > NAME_MAX or not _EMAIL.match(email):
        flash(
            "Give a name (under 80 characters) and an email address such as dj@example.com.",
            "error",
        )
        return _centre_page(400)
    changes: dict[str, Any] = {}
    if name != g.user.get("display_name"):
        changes.update(display_name=name, first_name=name)
    if email != str(g.user.get("email") or "").lower():
        if not _password_ok(request.form.get("password", "")):
            flash("Enter your password to change your email address. " + WRONG_PASSWORD, "error")
            return _centre_page(403)
        changes.update(email=email, email_verified_at=None)
    if not changes:
        return redirect(url_for("site.privacy_centre"), code=303)
    try:
        directus().update_item("directus_users", user_id, changes)
    except DirectusError as exc:
        log.info("profile correction refused: %s", exc.code)
        flash("That email address cannot be used.", "error")
        return _centre_page(400)
    privacy.audit(directus(), _secret(), "privacy.profile_corrected", actor=user_id, subject=user_id,
                  detail={"fields": sorted(k for k in changes if k != "first_name")})  # fmt: skip
    if "email" in changes:
        _enqueue("verification_mail", user_id)
        security.end_sessions_of(user_id)
        flash("Check your new address: open the link we mailed there, then log in again.", "info")
        return redirect(url_for("site.login"), code=303)
    flash("Your profile is corrected.", "info")
    return redirect(url_for("site.privacy_centre"), code=303)


# -- logged out -----------------------------------------------------------------------------------
@bp.route("/privacy/request", methods=["GET", "POST"])
def privacy_request_by_email() -> Any:
    """Ask by email (no log-in): a link to confirm it is mailed to the account's address."""
    if request.method == "GET":
        return render_template("privacy/request.html", kinds=EMAIL_KINDS)
    email = request.form.get("email", "").strip().lower()
    kind = request.form.get("kind", "")
    if kind not in EMAIL_KINDS:
        abort(400)
    _limit("reset", email)
    if _EMAIL.match(email):
        users = directus().list_items(
            "directus_users", filter={"email": {"_eq": email}, "role": {"_eq": role_id("DJ")}},
            fields=["id", "status"], limit=1,
        )  # fmt: skip
        if users and users[0].get("status") == "active":
            req = privacy.open_request(
                directus(), _secret(), str(users[0]["id"]), kind, details="asked by email"
            )
            _enqueue("privacy_notice", req["id"])
    return render_template("privacy/message.html", title="Check your mail", message=REQUEST_SENT)


def _request_from_link(purpose: str) -> dict[str, Any] | None:
    request_id = links.read(_secret(), purpose, request.values.get("token", ""))
    if request_id is None or not _UUID.match(request_id):
        return None
    try:
        return privacy.get_request(directus(), request_id)
    except (DirectusNotFound, DirectusForbidden):
        return None


@bp.route("/privacy/confirm", methods=["GET", "POST"])
def privacy_confirm() -> Any:
    """The emailed link: confirm the request (once; the link expires after a day)."""
    req = _request_from_link("confirm")
    if req is None or req["state"] != "received" or not req.get("user"):
        return render_template("privacy/message.html", title="This link did not work",
                               message="It has expired or was already used. Make the request again."), 400  # fmt: skip
    if request.method == "GET":
        return render_template("privacy/confirm.html", req=req, token=request.args.get("token", ""),
                               action=url_for("site.privacy_confirm"), button="Confirm my request")  # fmt: skip
    user_id = str(req["user"])
    req = privacy.verify(directus(), _secret(), req, "email_link", actor=user_id)
    run_verified(req, user_id)
    messages = {
        "access": "Confirmed. We are preparing your data and will mail you a link to download it.",
        "portability": "Confirmed. We are preparing your data and will mail you a link to download it.",
        "deletion": "Confirmed. Your account is deactivated and will be deleted in 30 days; the mail we "
                    "just sent has a link to restore it before then.",
        "objection": "Confirmed. You will receive no more marketing mail.",
        "correction": "Confirmed. We will answer within 30 days.",
    }  # fmt: skip
    return render_template(
        "privacy/message.html", title="Request confirmed", message=messages[req["kind"]]
    )


@bp.route("/privacy/cancel-deletion", methods=["GET", "POST"])
def privacy_cancel_deletion() -> Any:
    """The link in the deletion mail: restore the account within the grace period."""
    req = _request_from_link("cancel")
    if (
        req is None
        or req["kind"] != "deletion"
        or req["state"] != "in_progress"
        or not req.get("user")
    ):
        return render_template("privacy/message.html", title="This link did not work",
                               message="The account was already restored or deleted, or the link has expired."), 400  # fmt: skip
    if request.method == "GET":
        return render_template("privacy/confirm.html", req=req, token=request.args.get("token", ""),
                               action=url_for("site.privacy_cancel_deletion"), button="Restore my account")  # fmt: skip
    restore(directus(), _secret(), req, actor=str(req["user"]))
    flash("Your account is restored. Log in as before.", "info")
    return redirect(url_for("site.login"), code=303)


@bp.get("/privacy/exports/<request_id>")
def privacy_export_download(request_id: str) -> Any:
    """The archive, through the signed link that was mailed (7 days)."""
    if links.read(_secret(), "export", request.args.get("token", "")) != request_id:
        abort(404)
    try:
        req = privacy.get_request(directus(), request_id)
    except (DirectusNotFound, DirectusForbidden):
        abort(404)
    expires = privacy.parse_time(req.get("expires_at"))
    if not req.get("export_file") or not req.get("user") or (expires and expires <= privacy.now()):
        abort(404)
    if g.get("user") is not None and str(req["user"]) != current_user_id():
        abort(404)  # logged in as someone else
    response = directus().request(
        "GET", f"/assets/{req['export_file']}", params={"download": ""}, stream=True
    )
    privacy.audit(directus(), _secret(), "privacy.export_downloaded", actor=str(req["user"]),
                  subject=str(req["user"]), request=request_id)  # fmt: skip
    download = current_app.response_class(
        response.iter_content(64 * 1024), mimetype="application/zip"
    )
    download.headers["Content-Disposition"] = (
        f'attachment; filename="aidjsets-data-{request_id[:8]}.zip"'
    )
    return download


@bp.route("/unsubscribe", methods=["GET", "POST"])
def unsubscribe() -> Any:
    """One-click unsubscribe: the signed token alone names the DJ (no log-in, no session)."""
    user_id = links.read(_secret(), "unsubscribe", request.values.get("token", ""))
    if user_id is None or not _UUID.match(user_id):
        return render_template("privacy/message.html", title="This link did not work",
                               message="Log in and change your marketing choice in your privacy centre."), 400  # fmt: skip
    if request.method == "GET":
        return render_template("privacy/confirm.html", req=None, token=request.args.get("token", ""),
                               action=url_for("site.unsubscribe"), button="Unsubscribe from marketing mail")  # fmt: skip
    # An account already gone gets nothing anyway.
    with contextlib.suppress(DirectusNotFound, DirectusForbidden):
        set_marketing(
            directus(), _secret(), user_id, False, source="unsubscribe_link", actor=user_id
        )
    return render_template("privacy/message.html", title="Unsubscribed",
                           message="You will receive no more marketing mail from AIDJSets.")  # fmt: skip


# -- correcting track values ------------------------------------------------------------------------
#: The values a DJ corrects, with how each is read from the form (None: the field is cleared).
CORRECTABLE = ("artist", "title", "bpm", "key", "energy", "genre", "label")
#: The source of a value the DJ set: it wins over tags, playlists and analysis (ingest never
#: replaces a stored value, and sets read the stored one).
DJ_SOURCE = "dj"


def read_track_form(form: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """The corrected values and what is wrong with the form."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in ("artist", "title", "genre", "label"):
        text = form.get(name, "").strip()
        if len(text) > 200:
            errors[name] = "Keep it under 200 characters."
        values[name] = text or None
    bpm = form.get("bpm", "").strip().replace(",", ".")
    if bpm:
        try:
            values["bpm"] = round(float(bpm), 2)
            if not 40 <= values["bpm"] <= 250:
                raise ValueError
        except ValueError:
            errors["bpm"] = "Give a tempo between 40 and 250 BPM."
    else:
        values["bpm"] = None
    key = form.get("key", "").strip()
    if key:
        try:
            values["key"] = parse_key(key).camelot
        except KeyParseError:
            errors["key"] = "Give a key such as 8A, Am or A minor."
    else:
        values["key"] = None
    energy = form.get("energy", "").strip()
    if energy:
        if energy.isdigit() and 1 <= int(energy) <= 10:
            values["energy"] = int(energy)
        else:
            errors["energy"] = "Give an energy from 1 to 10."
    else:
        values["energy"] = None
    return values, errors


@bp.route("/tracks/<track_id>/edit", methods=["GET", "POST"])
@login_required
def track_edit(track_id: str) -> Any:
    """Correct a track's values; each changed value gets source ``dj`` and wins everywhere."""
    track = owned_or_404("tracks", track_id, ("id", *CORRECTABLE, "sources"))
    if request.method == "GET":
        return render_template("privacy/track.html", track=track, errors={}, fields=CORRECTABLE)
    values, errors = read_track_form(request.form)
    if errors:
        return render_template("privacy/track.html", track={**track, **values}, errors=errors,
                               fields=CORRECTABLE), 400  # fmt: skip
    changed = {name: value for name, value in values.items() if value != track.get(name)}
    if changed:
        sources = dict(track.get("sources") or {})
        sources.update({name: DJ_SOURCE for name in changed})
        directus().update_item("tracks", track_id, {**changed, "sources": sources})
        privacy.audit(directus(), _secret(), "privacy.track_corrected", actor=current_user_id(),
                      subject=current_user_id(), detail={"fields": sorted(changed)})  # fmt: skip
        flash("Saved. Your values win over the file's tags and our analysis.", "info")
    return redirect(url_for("site.track_edit", track_id=track_id), code=303)
