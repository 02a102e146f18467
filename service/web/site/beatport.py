"""Beatport on the site: connect (OAuth 2 authorization code with PKCE and state), disconnect,
confirm a catalog match the lookup was unsure of, and push a set as a Beatport playlist.

Connect: a POST (CSRF-checked) makes a random ``state`` and PKCE verifier, keeps them in Redis for ten
minutes under the state, bound to the logged-in DJ, and sends the browser to Beatport. The callback
takes the state once (GETDEL), refuses it for another DJ, and trades the code and verifier for tokens,
which are stored encrypted (service/beatport.py). Without partner credentials every page says the
integration is off and nothing else changes.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from service import beatport
from service.integrations.beatport import BeatportError, pkce_pair
from service.jobs.queue import enqueue
from service.jobs.state import now_iso
from service.web import security
from service.web.site import bp, current_user_id, directus, login_required, owned_or_404

log = logging.getLogger(__name__)

STATE_TTL_S = 600
STATE_PREFIX = "aidj:beatport:oauth-state:"


def _on() -> bool:
    return beatport.configured(current_app.config)


def _redis() -> Any:
    return current_app.extensions["redis"]


@bp.get("/beatport")
@login_required
def beatport_page() -> Any:
    """Whether the integration is on, and the DJ's connection with a button to change it."""
    link = beatport.get_link(directus(), current_user_id()) if _on() else None
    response = current_app.make_response(
        render_template("beatport/index.html", enabled=_on(), link=link)
    )
    if _on():
        # The Connect form's answer redirects to Beatport; the site's CSP (form-action 'self') would
        # stop the browser there, so this one page also allows Beatport's origin as a form target.
        api = urlsplit(str(current_app.config["BEATPORT_API_URL"]))
        response.headers["Content-Security-Policy"] = security.CONTENT_SECURITY_POLICY.replace(
            "form-action 'self'", f"form-action 'self' {api.scheme}://{api.netloc}"
        )
    return response


@bp.post("/beatport/connect")
@login_required
def beatport_connect() -> Any:
    """Start the authorization: state and PKCE verifier kept server-side, browser sent to Beatport."""
    if not _on():
        abort(404)
    state = secrets.token_urlsafe(32)
    verifier, challenge = pkce_pair()
    record = {"user": current_user_id(), "verifier": verifier}
    _redis().set(STATE_PREFIX + state, json.dumps(record), ex=STATE_TTL_S)
    client = beatport.api_client(current_app.config, None)
    return redirect(
        client.authorize_url(
            redirect_uri=str(current_app.config["BEATPORT_REDIRECT_URI"]),
            state=state,
            code_challenge=challenge,
        )
    )


@bp.get("/beatport/callback")
@login_required
def beatport_callback() -> Any:
    """Beatport sends the DJ back here with ``code`` and ``state`` (or ``error``)."""
    if not _on():
        abort(404)
    state = request.args.get("state", "")
    raw = _redis().getdel(STATE_PREFIX + state) if state else None
    record = json.loads(raw) if raw else None
    if record is None or record.get("user") != current_user_id():
        flash(
            "That Beatport sign-in link has expired or is not yours; please connect again.", "error"
        )
        return redirect(url_for("site.beatport_page"))
    if request.args.get("error") or not request.args.get("code"):
        flash("Beatport did not grant access, so nothing was connected.", "error")
        return redirect(url_for("site.beatport_page"))
    client = beatport.api_client(current_app.config, _redis())
    try:
        tokens = client.exchange_code(
            request.args["code"],
            code_verifier=record["verifier"],
            redirect_uri=str(current_app.config["BEATPORT_REDIRECT_URI"]),
        )
    except BeatportError as exc:
        log.warning("Beatport code exchange failed: %s", exc)
        flash("Beatport refused the connection; please try again.", "error")
        return redirect(url_for("site.beatport_page"))
    beatport.save_tokens(directus(), current_app.config, current_user_id(), tokens)
    flash("Beatport is connected. New playlists are looked up in the catalog.", "success")
    return redirect(url_for("site.beatport_page"))


@bp.post("/beatport/disconnect")
@login_required
def beatport_disconnect() -> Any:
    """Revoke the grant at Beatport and delete the stored tokens."""
    if beatport.disconnect(directus(), current_app.config, _redis(), current_user_id()):
        flash("Beatport is disconnected and its tokens are deleted.", "success")
    return redirect(url_for("site.beatport_page"))


@bp.post("/playlists/<playlist_id>/beatport")
@login_required
def beatport_lookup(playlist_id: str) -> Any:
    """Look the playlist's tracks up on Beatport now (after connecting, or to retry)."""
    item = owned_or_404("playlists", playlist_id, ("id", "status"))
    if not _on() or item["status"] != "done":
        abort(404)
    if beatport.get_link(directus(), current_user_id()) is None:
        flash("Connect your Beatport account first.", "error")
        return redirect(url_for("site.beatport_page"))
    enqueue("beatport_enrich", playlist_id, connection=_redis())
    flash("Looking your tracks up on Beatport; reload this page in a moment.", "success")
    return redirect(url_for("site.playlist", playlist_id=playlist_id))


@bp.post("/playlists/<playlist_id>/tracks/<track_id>/beatport")
@login_required
def beatport_confirm(playlist_id: str, track_id: str) -> Any:
    """The DJ picks one of the kept candidates (``beatport_id``) or none (``reject``)."""
    owned_or_404("playlists", playlist_id, ("id",))
    track = owned_or_404("tracks", track_id, ("id", "bpm", "key", "genre", "label", "isrc",
                                              "duration_s", "sources", "beatport_match"))  # fmt: skip
    match = dict(track.get("beatport_match") or {})
    candidates = {str(c.get("id")): c for c in match.get("candidates") or []}
    chosen = request.form.get("beatport_id", "")
    if chosen == "reject":
        changes: dict[str, Any] = {}
        match.update(status="rejected", checked_at=now_iso())
        flash("Kept without a Beatport match.", "success")
    elif chosen in candidates:
        changes = beatport.match_changes(track, candidates[chosen])
        match.update(status="confirmed", via="dj", score=candidates[chosen].get("score"),
                     candidates=[], checked_at=now_iso())  # fmt: skip
        flash("Matched to the Beatport track you chose.", "success")
    else:
        abort(400)
    directus().update_item("tracks", track_id, {**changes, "beatport_match": match})
    return redirect(url_for("site.playlist", playlist_id=playlist_id) + "#beatport-review")


@bp.post("/sets/<set_id>/beatport")
@login_required
def beatport_push(set_id: str) -> Any:
    """Push the set to its Beatport playlist (created once, updated after)."""
    item = owned_or_404("sets", set_id, ("id", "status"))
    if not _on() or item["status"] != "done":
        abort(404)
    if beatport.get_link(directus(), current_user_id()) is None:
        flash("Connect your Beatport account first.", "error")
        return redirect(url_for("site.beatport_page"))
    directus().update_item("sets", set_id, {"beatport_push": {"status": "queued", "at": now_iso()}})
    enqueue("beatport_push", set_id, connection=_redis())
    flash("Sending the set to Beatport; reload this page in a moment.", "success")
    return redirect(url_for("site.set_view", set_id=set_id) + "#beatport")


@bp.app_context_processor
def beatport_context() -> dict[str, Any]:
    """``beatport_enabled`` for every template (the nav and the playlist and set pages)."""
    return {"beatport_enabled": _on()}


def connected() -> bool:
    """Whether the logged-in DJ has connected Beatport (False when the integration is off)."""
    return _on() and beatport.get_link(directus(), current_user_id()) is not None
