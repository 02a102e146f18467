"""The DJ's library: the dashboard, uploading a playlist with its audio, and watching it import.

An upload only records intent: the files go into a Directus folder of their own, a ``playlists`` row
with ``status=queued`` points at them, and the ingest pipeline does the reading and matching.
"""

from __future__ import annotations

import logging
import secrets
from pathlib import PurePath
from typing import Any

from flask import abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage

from service import ledger, usage
from service.dj.exports import check_music_folder
from service.dj.playlists.detection import READ_TEXT
from service.dj.tags import AUDIO_EXTENSIONS
from service.jobs.queue import enqueue
from service.web.site import (
    bp,
    confirm_deletion_page,
    current_user_id,
    directus,
    login_required,
    owned_or_404,
)
from service.web.site.beatport import connected

log = logging.getLogger(__name__)

# The playlist files the ingest pipeline reads, by file name ending (it reads the content to be sure).
PLAYLIST_FORMATS = {
    ".m3u8": "m3u8",
    ".m3u": "m3u",
    ".pls": "pls",
    ".xml": "rekordbox",
    ".txt": "rekordbox-txt",
    ".nml": "nml",
    ".csv": "csv",
}
PLAYLIST_FIELDS = ("id", "name", "status", "progress", "error", "entry_count", "matched_count",
                   "date_created", "finished_at")  # fmt: skip
SET_LIST_FIELDS = ("id", "title", "status", "progress", "playlist.name", "date_created",
                   "tokens_charged")  # fmt: skip


def _is_xhr() -> bool:
    return request.headers.get("X-Requested-With") == "XMLHttpRequest"


@bp.get("/dashboard")
@login_required
def dashboard() -> Any:
    """Token balance and history, playlists and sets of the logged-in DJ."""
    client = directus()
    owner = current_user_id()
    playlists = client.list_items(
        "playlists",
        filter={"owner": {"_eq": owner}},
        fields=list(PLAYLIST_FIELDS),
        sort=["-date_created"],
        limit=100,
    )
    sets = client.list_items(
        "sets",
        filter={"owner": {"_eq": owner}},
        fields=list(SET_LIST_FIELDS),
        sort=["-date_created"],
        limit=100,
    )
    return render_template(
        "library/dashboard.html",
        balance=ledger.balance(client, owner),
        history=ledger.history(client, owner, limit=20),
        playlists=playlists,
        sets=sets,
    )


@bp.get("/playlists/new")
@login_required
def upload_form() -> Any:
    """The upload page: one playlist file plus its audio files."""
    return _upload_page(None)


def _upload_page(error: str | None) -> str:
    """The upload form; its file pickers offer exactly the formats the ingest job reads."""
    return render_template(
        "library/upload.html",
        formats=sorted(PLAYLIST_FORMATS),
        audio_extensions=sorted(AUDIO_EXTENSIONS),
        read_text=READ_TEXT,
        error=error,
    )


def _upload_error(message: str, status: int = 400) -> Any:
    if _is_xhr():
        return jsonify(error=message), status
    return _upload_page(message), status


@bp.post("/playlists")
@login_required
def upload() -> Any:
    """Store the playlist file and its audio in a new folder, record the playlist, start the import."""
    source: FileStorage | None = request.files.get("playlist")
    if source is None or not source.filename:
        return _upload_error(f"Choose a playlist file ({READ_TEXT}).")
    suffix = PurePath(source.filename).suffix.lower()
    source_format = PLAYLIST_FORMATS.get(suffix)
    if source_format is None:
        return _upload_error(
            f"{PurePath(source.filename).name} is not a playlist file we read: use {READ_TEXT}."
        )
    audio = [f for f in request.files.getlist("audio") if f and f.filename]
    skipped = [
        f.filename for f in audio if PurePath(f.filename).suffix.lower() not in AUDIO_EXTENSIONS
    ]
    audio = [f for f in audio if PurePath(f.filename).suffix.lower() in AUDIO_EXTENSIONS]
    name = request.form.get("name", "").strip()[:120] or PurePath(source.filename).stem[:120]
    try:
        music_folder = check_music_folder(request.form.get("music_folder", ""))
    except ValueError as exc:
        return _upload_error(str(exc))

    client = directus()
    owner = current_user_id()
    folder = client.call(
        "POST", "/folders", json={"name": f"upload {owner[:8]} {secrets.token_hex(4)}"}
    )
    for item in audio:
        client.upload_file(
            item.stream, PurePath(item.filename).name, metadata={"folder": folder["id"]}
        )
    stored = client.upload_file(
        source.stream, PurePath(source.filename).name, metadata={"folder": folder["id"]}
    )
    playlist = client.create_item(
        "playlists",
        {
            "owner": owner,
            "name": name,
            "source_format": source_format,
            "source_file": stored["id"],
            "upload_folder": folder["id"],
            "music_folder": music_folder,
            "status": "queued",
        },
    )
    enqueue("ingest", playlist["id"], connection=current_app.extensions["redis"])
    log.info("playlist %s uploaded with %d audio files", playlist["id"], len(audio))
    usage.record(client, current_app.config["SECRET_KEY"], owner, "upload",
                 value=request.content_length, detail=source_format)  # fmt: skip
    if skipped:
        flash(
            f"Skipped {len(skipped)} file(s) that are not audio: {', '.join(skipped[:5])}", "info"
        )
    target = url_for("site.playlist", playlist_id=playlist["id"])
    if _is_xhr():
        return jsonify(redirect=target), 201
    return redirect(target, code=303)


@bp.get("/playlists/<playlist_id>")
@login_required
def playlist(playlist_id: str) -> Any:
    """A playlist's import status, its problem report in plain words, and its tracks."""
    item = owned_or_404("playlists", playlist_id, (*PLAYLIST_FIELDS, "problems", "source_format",
                                                   "source_file.filename_download", "music_folder",
                                                   "analysis_status", "analysis_progress"))  # fmt: skip
    entries = []
    if item["status"] == "done":
        entries = directus().list_items(
            "playlist_tracks",
            filter={"playlist": {"_eq": playlist_id}, "track": {"_nnull": True}},
            fields=["position", "raw_entry", "track.id", "track.title", "track.artist",
                    "track.bpm", "track.key", "track.energy", "track.duration_s", "track.file",
                    "track.beatport_id", "track.beatport_match"],
            sort=["position"],
            limit=-1,
        )  # fmt: skip
    source = item.get("source_file")
    return render_template(
        "library/playlist.html",
        playlist=item,
        entries=entries,
        source_name=source.get("filename_download") if isinstance(source, dict) else None,
        with_audio=sum(1 for e in entries if (e.get("track") or {}).get("file")),
        beatport_connected=connected(),
    )


@bp.get("/playlists/<playlist_id>/status")
@login_required
def playlist_status(playlist_id: str) -> Any:
    """Import status for the progress bar (polled by status.js)."""
    item = owned_or_404("playlists", playlist_id, ("status", "progress", "error"))
    return jsonify(
        status=item["status"], progress=item.get("progress") or 0, error=item.get("error")
    )


@bp.get("/playlists/<playlist_id>/analysis-status")
@login_required
def playlist_analysis_status(playlist_id: str) -> Any:
    """Audio analysis status for its progress bar (polled by status.js)."""
    item = owned_or_404("playlists", playlist_id, ("analysis_status", "analysis_progress"))
    return jsonify(status=item.get("analysis_status"), progress=item.get("analysis_progress") or 0)


def require_owned_playlist(playlist_id: str | None) -> dict[str, Any]:
    """A playlist of the logged-in DJ (404 otherwise), for pages that start from one."""
    if not playlist_id:
        abort(404)
    return owned_or_404("playlists", playlist_id, ("id", "name", "status"))


@bp.post("/playlists/<playlist_id>/delete")
@login_required
def delete_playlist(playlist_id: str) -> Any:
    """Delete a playlist (whatever its status) with its uploaded files, once the DJ confirmed it.

    Tracks only this playlist brought are deleted too; a track another playlist or a set still
    uses stays (without the deleted file), so existing sets keep their order.
    """
    item = owned_or_404("playlists", playlist_id, ("id", "name", "status", "source_file",
                                                   "upload_folder"))  # fmt: skip
    if request.form.get("confirm") != "delete":
        return confirm_deletion_page(
            "Delete this playlist?",
            f"“{item['name']}”, its import report and every file uploaded with it will be gone "
            "for good. Sets built from it keep their order.",
            url_for("site.delete_playlist", playlist_id=playlist_id),
            "Delete the playlist and its files",
            url_for("site.playlist", playlist_id=playlist_id),
        )
    client = directus()
    owner = current_user_id()
    linked = client.list_items("playlist_tracks", filter={"playlist": {"_eq": playlist_id}},
                               fields=["track"], limit=-1)  # fmt: skip
    track_ids = {str(r["track"]) for r in linked if r.get("track")}
    files = [str(item["source_file"])] if item.get("source_file") else []
    if item.get("upload_folder"):
        files += [str(f["id"]) for f in client.iter_items(
            "directus_files", filter={"folder": {"_eq": item["upload_folder"]}}, fields=["id"]
        )]  # fmt: skip
    client.delete_item("playlists", playlist_id)  # its playlist_tracks go with it
    client.delete_items("directus_files", sorted(set(files)))
    if item.get("upload_folder"):
        client.delete_item("directus_folders", item["upload_folder"])
    if track_ids:
        still_used = {
            str(r["track"])
            for collection in ("playlist_tracks", "set_tracks")
            for r in client.list_items(
                collection, filter={"track": {"_in": sorted(track_ids)}}, fields=["track"], limit=-1
            )
            if r.get("track")
        }
        orphans = client.list_items(
            "tracks",
            filter={"id": {"_in": sorted(track_ids - still_used)}, "owner": {"_eq": owner}},
            fields=["id"],
            limit=-1,
        ) if track_ids - still_used else []  # fmt: skip
        client.delete_items("tracks", [t["id"] for t in orphans])
    log.info("playlist %s deleted with %d files", playlist_id, len(files))
    flash(f"Playlist “{item['name']}” and its files deleted.", "info")
    return redirect(url_for("site.dashboard"), code=303)
