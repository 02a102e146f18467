"""Sets: ask for one (price shown first), watch it build, read why it mixes, download it, delete it.

Creating a set records intent only (a ``sets`` row with ``status=queued``) and enqueues the generate
pipeline, which charges the tokens, plans the order and writes notes. Downloads are rendered on
request from the stored order with the set engine's exporters, so every format always matches it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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
    stream_with_context,
    url_for,
)

from service import ledger, set_audio, usage
from service.ai.prompts import BRIEF_MAX_CHARS
from service.dj.arcs import ARC_NAMES, Arc, ArcError, parse_arc
from service.dj.exports import export_set, needs_relocating, to_serato_crate
from service.dj.scorecard import score_order
from service.dj.sequencing.plan import SET_BPM_RANGE, SET_MINUTES_RANGE
from service.dj.timeline import durations, set_length_s
from service.dj.tracks import Track
from service.integrations.directus import DirectusError
from service.jobs.queue import enqueue
from service.track_rows import TRACK_ROW_FIELDS, track_from_item
from service.web.site import (
    bp,
    confirm_deletion_page,
    current_user_id,
    directus,
    login_required,
    owned_or_404,
)
from service.web.site.beatport import connected
from service.web.site.library import require_owned_playlist
from service.web.site.profile import SYSTEM_LABELS, export_folder, music_folders

log = logging.getLogger(__name__)

SET_FIELDS = ("id", "title", "description", "status", "progress", "error", "brief", "parameters",
              "scorecard", "notes", "ai_provider", "ai_fallback_reason", "tokens_charged",
              "playlist.id", "playlist.name", "playlist.music_folder", "date_created",
              "finished_at", "beatport_playlist_id", "beatport_push", "render",
              "render_request")  # fmt: skip
DOWNLOADS = {
    "rekordbox": ("Rekordbox XML", "xml", "application/xml"),
    "nml": ("Traktor NML", "nml", "application/xml"),
    "m3u8": ("M3U8 playlist", "m3u8", "audio/x-mpegurl"),
    "csv": ("CSV", "csv", "text/csv"),
    "json": ("JSON", "json", "application/json"),
    "serato": ("Serato crate", "crate", "application/octet-stream"),
}


# -- new set ------------------------------------------------------------------------------------------
def _playlist_tracks(playlist_id: str) -> list[dict[str, Any]]:
    rows = directus().list_items(
        "playlist_tracks",
        filter={"playlist": {"_eq": playlist_id}, "track": {"_nnull": True}},
        fields=[
            "position",
            "track.id",
            "track.title",
            "track.artist",
            "track.bpm",
            "track.key",
            "track.duration_s",
        ],
        sort=["position"],
        limit=-1,
    )
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        track = row.get("track") or {}
        if track.get("id"):
            seen.setdefault(str(track["id"]), track)
    return list(seen.values())


def _track_counts(playlist_ids: Sequence[str]) -> dict[str, int]:
    """Tracks linked to each playlist (matched audio or, without audio, the playlist's own values)."""
    if not playlist_ids:
        return {}
    rows = directus().call(
        "GET",
        "/items/playlist_tracks",
        params={
            "aggregate[count]": "id",
            "groupBy[]": "playlist",
            "filter": json.dumps(
                {"playlist": {"_in": list(playlist_ids)}, "track": {"_nnull": True}}
            ),
        },
    )
    return {str(r["playlist"]): int((r.get("count") or {}).get("id") or 0) for r in rows or []}


def _longest_set_min(tracks: Sequence[Mapping[str, Any]]) -> int:
    """Minutes a set of every track plays, mixed on the engine's clock (the longest length to ask)."""
    if not tracks:
        return 0
    seconds = durations([Track(id=str(t["id"]), path=None, duration_s=t.get("duration_s"))
                         for t in tracks])  # fmt: skip
    return int(set_length_s(seconds) // 60)


def _new_set_page(playlist: Mapping[str, Any] | None, values: Mapping[str, str], error: str | None,
                  status: int = 200) -> Any:  # fmt: skip
    client = directus()
    owner = current_user_id()
    playlists = client.list_items(
        "playlists",
        filter={"owner": {"_eq": owner}, "status": {"_eq": "done"}},
        fields=["id", "name", "matched_count"],
        sort=["-date_created"],
        limit=100,
    )
    tracks = _playlist_tracks(str(playlist["id"])) if playlist else []
    counts = _track_counts([str(p["id"]) for p in playlists])
    for p in playlists:
        p["track_count"] = counts.get(str(p["id"]), 0)
    return render_template(
        "sets/new.html",
        playlists=playlists,
        playlist=playlist,
        tracks=tracks,
        longest_min=_longest_set_min(tracks),
        arcs=ARC_NAMES,
        minutes_range=SET_MINUTES_RANGE,
        bpm_range=SET_BPM_RANGE,
        price=ledger.set_price(client),
        balance=ledger.balance(client, owner),
        values=values,
        error=error,
        brief_max=BRIEF_MAX_CHARS,
    ), status


@bp.get("/sets/new")
@login_required
def new_set() -> Any:
    """The new-set form for one playlist, with the token price shown before confirming."""
    playlist_id = request.args.get("playlist")
    playlist = require_owned_playlist(playlist_id) if playlist_id else None
    return _new_set_page(playlist, {"arc": "journey"}, None)


@dataclass
class SetForm:
    """The new-set form, checked: the parameters the generate pipeline reads, or what is wrong."""

    parameters: dict[str, Any]
    brief: str
    error: str | None


def _number(text: str, what: str, low: float, high: float) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} must be a number.") from None
    if not low <= value <= high:
        raise ValueError(f"{what} must be between {low:g} and {high:g}.")
    return value


def read_set_form(form: Mapping[str, str], track_ids: set[str]) -> SetForm:
    """Check the posted form against the playlist's tracks."""
    brief = form.get("brief", "").strip()
    params: dict[str, Any] = {}
    try:
        duration = _number(form.get("duration_min", ""), "Target length", *SET_MINUTES_RANGE)
        if duration is not None:
            params["duration_min"] = round(duration)
        arc = form.get("arc", "journey").strip().lower()
        if arc not in ARC_NAMES:
            raise ValueError("Choose one of the energy arcs offered.")
        params["arc"] = arc
        for end in ("first", "last"):
            chosen = form.get(end, "").strip()
            if chosen:
                if chosen not in track_ids:
                    raise ValueError(f"The {end} track must be one of this playlist's tracks.")
                params[end] = chosen
        if params.get("first") and params.get("first") == params.get("last"):
            raise ValueError("The first and the last track must differ.")
        bpm_min = _number(form.get("bpm_min", ""), "Lowest BPM", *SET_BPM_RANGE)
        bpm_max = _number(form.get("bpm_max", ""), "Highest BPM", *SET_BPM_RANGE)
        if bpm_min is not None and bpm_max is not None and bpm_min > bpm_max:
            raise ValueError("The lowest BPM is above the highest.")
        if bpm_min is not None:
            params["bpm_min"] = bpm_min
        if bpm_max is not None:
            params["bpm_max"] = bpm_max
        if len(brief) > BRIEF_MAX_CHARS:
            raise ValueError(f"Keep the brief under {BRIEF_MAX_CHARS} characters.")
    except ValueError as exc:
        return SetForm(params, brief, str(exc))
    return SetForm(params, brief, None)


def _review_page(playlist: Mapping[str, Any], values: Mapping[str, str], price: int,
                 balance: int) -> Any:  # fmt: skip
    """The confirmation before a set is paid for: what was asked and what it costs."""
    asked = [f"From {playlist['name']}, {values.get('arc') or 'journey'} arc"
             + (f", about {values['duration_min']} minutes" if values.get("duration_min") else ", every track")
             + "."]  # fmt: skip
    unit = "token" if price == 1 else "tokens"
    return render_template(
        "confirm.html",
        heading="Build this set?",
        lines=[*asked, f"It costs {price} {unit}; your balance is {balance}."],
        action=url_for("site.create_set"),
        hidden={k: v for k, v in values.items() if k not in ("step", "csrf_token")},
        confirm_name="step",
        confirm_value="build",
        button=f"Build the set for {price} {unit}",
        button_class="",
        cancel=url_for("site.new_set", playlist=playlist["id"]),
    )


@bp.post("/sets")
@login_required
def create_set() -> Any:
    """Record a queued set for one of the DJ's imported playlists and start building it."""
    playlist = require_owned_playlist(request.form.get("playlist"))
    values = request.form.to_dict()
    if playlist["status"] != "done":
        return _new_set_page(playlist, values, "This playlist is still being imported.", 400)
    client = directus()
    owner = current_user_id()
    form = read_set_form(request.form, {str(t["id"]) for t in _playlist_tracks(playlist["id"])})
    if form.error:
        return _new_set_page(playlist, values, form.error, 400)
    price, balance = ledger.set_price(client), ledger.balance(client, owner)
    if balance < price:
        message = str(ledger.InsufficientTokens(balance, price))
        return _new_set_page(playlist, values, message, 402)
    if request.form.get("step") != "build":
        # Enter in a field submits the form through its first button, "Review": nothing is spent
        # until the DJ presses the button that names the price.
        return _review_page(playlist, values, price, balance)
    item = client.create_item(
        "sets",
        {
            "owner": owner,
            "playlist": playlist["id"],
            "brief": form.brief or None,
            "parameters": form.parameters,
            "status": "queued",
        },
    )
    enqueue("generate", item["id"], connection=current_app.extensions["redis"])
    log.info("set %s queued", item["id"])
    return redirect(url_for("site.set_view", set_id=item["id"]), code=303)


# -- set view -----------------------------------------------------------------------------------------
def _set_rows(set_id: str) -> list[dict[str, Any]]:
    fields = ["position", "transition", *(f"track.{name}" for name in TRACK_ROW_FIELDS)]
    return directus().list_items(
        "set_tracks",
        filter={"set": {"_eq": set_id}, "track": {"_nnull": True}},
        fields=fields,
        sort=["position"],
        limit=-1,
    )


def _arc(item: Mapping[str, Any]) -> Arc | None:
    name = (item.get("scorecard") or {}).get("arc") or (item.get("parameters") or {}).get("arc")
    try:
        return parse_arc(name) if isinstance(name, str) else None
    except ArcError:
        return None


@dataclass(frozen=True)
class EnergyChart:
    """The energy curve against the target arc, in SVG coordinates."""

    width: int
    height: int
    left: int
    top: int
    bottom: int
    right: int
    points: list[dict[str, Any]]
    played: str
    target: str
    levels: list[dict[str, Any]]
    unknown: list[str]  # "position. label" of the tracks left out: their energy is unknown


def energy_chart(energies: Sequence[int | None], labels: Sequence[str], arc: Arc | None,
                 width: int = 640, height: int = 220) -> EnergyChart | None:  # fmt: skip
    """Coordinates for the set's energy per position and the arc's target energies."""
    n = len(energies)
    if n == 0:
        return None
    left, right, top, bottom = 36, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(i: int) -> float:
        return left + (plot_w / 2 if n == 1 else i * plot_w / (n - 1))

    def y(energy: float) -> float:
        return top + (10.0 - energy) * plot_h / 10.0

    points = [
        {
            "x": round(x(i), 1),
            "y": round(y(e), 1),
            "energy": e,
            "label": labels[i],
            "position": i + 1,
        }
        for i, e in enumerate(energies)
        if e is not None
    ]
    played = " ".join(f"{p['x']},{p['y']}" for p in points)
    target = ""
    if arc is not None:
        target = " ".join(f"{x(i):.1f},{y(float(e)):.1f}" for i, e in enumerate(arc.targets(n)))
    levels = [{"energy": e, "y": round(y(e), 1)} for e in (0, 2, 4, 6, 8, 10)]
    unknown = [f"{i + 1}. {labels[i]}" for i, e in enumerate(energies) if e is None]
    return EnergyChart(width, height, left, top, bottom, right, points, played, target, levels,
                       unknown)  # fmt: skip


@bp.get("/sets/<set_id>")
@login_required
def set_view(set_id: str) -> Any:
    """Status, tracks with BPM/key/energy, transitions with badges and tips, the energy chart."""
    item = owned_or_404("sets", set_id, SET_FIELDS)
    rows = _set_rows(set_id) if item["status"] == "done" else []
    notes = item.get("notes") or {}
    arc = _arc(item)
    chart = energy_chart(
        [(row["track"] or {}).get("energy") for row in rows],
        [_label(row["track"] or {}) for row in rows],
        arc,
    )
    return render_template(
        "sets/view.html",
        set=item,
        rows=rows,
        notes=notes,
        arc=arc,
        chart=chart,
        downloads=DOWNLOADS,
        placement=_placement(item, rows),
        refunded=_refunded(item),
        beatport_connected=connected(),
        render=item.get("render") or {},
        render_status=set_audio.status(item),
        previews={
            int(p["to"]): {**p, "n": n}  # n: the preview's name on the audio route
            for n, p in enumerate((item.get("render") or {}).get("previews") or [], start=1)
        },
    )


def _refunded(item: Mapping[str, Any]) -> bool:
    """Whether the set's charge was given back (a failed set): the ledger is the one record of it."""
    if item.get("status") != "failed" or not item.get("tokens_charged"):
        return False
    reference = f"refund:{ledger.set_reference(str(item['id']))}"
    return ledger.find(directus(), reference) is not None


@dataclass(frozen=True)
class Placement:
    """Where the downloads put the set's files: per computer, and which tracks DJ software must find."""

    folders: dict[str, str]  # system → music folder the downloads for it use
    labels: dict[str, str]
    unplaced: list[str]  # tracks named without a folder, when no music folder is known


def _placement(item: Mapping[str, Any], rows: Sequence[Mapping[str, Any]]) -> Placement:
    playlist_folder = (item.get("playlist") or {}).get("music_folder")
    folders = dict(music_folders(g.user))
    if playlist_folder:
        folder, system = export_folder(g.user, playlist_folder, None)
        if folder and system:
            folders[system] = folder
    bare = [_label(row["track"] or {}) for row in rows
            if needs_relocating((row["track"] or {}).get("path"))]  # fmt: skip
    return Placement(folders, SYSTEM_LABELS, [] if folders else bare)


def _label(track: Mapping[str, Any]) -> str:
    artist, title = track.get("artist"), track.get("title")
    if artist and title:
        return f"{artist} – {title}"
    return str(title or artist or track.get("path") or "Untitled")


@bp.get("/sets/<set_id>/status")
@login_required
def set_status(set_id: str) -> Any:
    """Build status for the progress bar (polled by status.js)."""
    item = owned_or_404("sets", set_id, ("status", "progress", "error"))
    return jsonify(
        status=item["status"], progress=item.get("progress") or 0, error=item.get("error")
    )


def _filename(title: str | None, extension: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", title or "aidjsets-set").strip("-.")[:80]
    return f"{stem or 'aidjsets-set'}.{extension}"


@bp.get("/sets/<set_id>/download/<fmt>")
@login_required
def download(set_id: str, fmt: str) -> Any:
    """The set in one export format, as a file to save."""
    item = owned_or_404("sets", set_id, SET_FIELDS)
    if fmt not in DOWNLOADS or item["status"] != "done":
        return render_template("error.html", status=404, error=None), 404
    tracks: list[Track] = [track_from_item(row["track"]) for row in _set_rows(set_id)]
    arc = _arc(item)
    name = item.get("title") or "AIDJSets set"
    folder, _ = export_folder(
        g.user, (item.get("playlist") or {}).get("music_folder"), request.args.get("os")
    )
    if fmt == "serato":
        body: str | bytes = to_serato_crate(tracks, music_folder=folder)
    else:
        body = export_set(
            fmt,
            tracks,
            scorecard=score_order(tracks, arc=arc),
            notes=item.get("notes") or {},
            name=name,
            extra={"title": item.get("title"), "description": item.get("description")},
            music_folder=folder,
        )
    _, extension, mime = DOWNLOADS[fmt]
    usage.record(directus(), current_app.config["SECRET_KEY"], current_user_id(),
                 "export_downloaded", value=len(tracks), detail=fmt)  # fmt: skip
    response = current_app.response_class(body, mimetype=mime)
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{_filename(item.get("title"), extension)}"'
    )
    return response


@bp.post("/sets/<set_id>/delete")
@login_required
def delete_set(set_id: str) -> Any:
    """Delete a set and its track order, once the DJ confirmed it on the page this answers first."""
    item = owned_or_404("sets", set_id, ("id", "title", "status"))
    if request.form.get("confirm") != "delete":
        return confirm_deletion_page(
            "Delete this set?",
            f"“{item.get('title') or 'Your set'}” and its order, notes and downloads will be gone "
            "for good. Tokens spent on it are not given back.",
            url_for("site.delete_set", set_id=set_id),
            "Delete the set",
            url_for("site.set_view", set_id=set_id),
        )
    set_audio.delete_set(directus(), set_id)
    flash("Set deleted.", "info")
    return redirect(url_for("site.dashboard"), code=303)


# -- hearing the set ----------------------------------------------------------------------------------
RENDER_FIELDS = ("id", "status", "render", "render_request")
#: A render queued this long without starting is asked for again when its page polls.
RENDER_LOST_S = 60.0
#: Headers of the stored file passed on to the browser (a range answer needs the first three).
_PASSED_HEADERS = ("Content-Length", "Content-Range", "Accept-Ranges", "ETag", "Last-Modified")


@bp.post("/sets/<set_id>/render")
@login_required
def render_set_audio(set_id: str) -> Any:
    """Ask for the transition previews again or, with ``mix``, the whole mix as well."""
    item = owned_or_404("sets", set_id, RENDER_FIELDS)
    if item["status"] != "done":
        flash("The set is not built yet.", "error")
        return redirect(url_for("site.set_view", set_id=set_id), code=303)
    mix = request.form.get("mix") == "1"
    set_audio.request(directus(), item, mix=mix, keylock=request.form.get("keylock") == "1")
    enqueue("render", set_id, connection=current_app.extensions["redis"])
    log.info("set %s: render asked%s", set_id, " with the mix" if mix else "")
    flash("Rendering the mix: this page updates by itself." if mix else
          "Rendering the previews: this page updates by itself.", "info")  # fmt: skip
    return redirect(url_for("site.set_view", set_id=set_id, _anchor="hear"), code=303)


@bp.get("/sets/<set_id>/render/status")
@login_required
def render_status(set_id: str) -> Any:
    """Render status for the progress bar (polled by status.js)."""
    item = owned_or_404("sets", set_id, RENDER_FIELDS)
    status = set_audio.status(item)
    render = item.get("render") or {}
    if status == "queued" and set_audio.waiting_s(item) > RENDER_LOST_S:
        # Its job was lost (Redis down when it was asked, a flushed queue): ask again; a job that
        # is waiting or running makes this a no-op.
        enqueue("render", set_id, connection=current_app.extensions["redis"])
    progress = (render.get("progress") or 0) if status == "running" else 0
    error = render.get("error") if status == "failed" else None
    return jsonify(status=status, progress=progress, error=error)


@bp.get("/sets/<set_id>/audio/<name>")
@login_required
def set_audio_file(set_id: str, name: str) -> Any:
    """A stored preview, the mix or its cue sheet, streamed to the set's owner; a ``Range`` asked
    for is passed on, so a player can seek without fetching the whole mix."""
    item = owned_or_404("sets", set_id, RENDER_FIELDS)
    stored = set_audio.find(item.get("render"), name)
    if stored is None:
        abort(404)
    headers = {"Range": request.headers["Range"]} if "Range" in request.headers else None
    try:
        upstream = directus().request("GET", f"/assets/{stored.file}", headers=headers, stream=True)
    except DirectusError as exc:
        if exc.status == 416:
            return current_app.response_class(status=416, headers={"Content-Range": "bytes */*"})
        if exc.status in (403, 404):
            abort(404)
        raise
    response = current_app.response_class(
        stream_with_context(upstream.iter_content(64 * 1024)),
        status=upstream.status_code,
        mimetype=stored.mime,
        direct_passthrough=True,
    )
    for header in _PASSED_HEADERS:
        if header in upstream.headers:
            response.headers[header] = upstream.headers[header]
    response.headers.setdefault("Accept-Ranges", "bytes")
    response.headers["Cache-Control"] = "private, no-store"
    disposition = "attachment" if request.args.get("download") else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{stored.filename}"'
    response.call_on_close(upstream.close)
    return response
