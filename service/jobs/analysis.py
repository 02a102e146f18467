"""Analyse the audio of a playlist's tracks after ingest; fill what tags, playlist and DJ left empty.

Ingest, when it has linked uploaded files, sets ``playlists.analysis_status = queued`` and enqueues
this pipeline (``analyze``). For each of the playlist's tracks with an uploaded file:

- its ``analysis`` already made from the same ``file_hash`` (and :data:`ANALYSIS_VERSION`): nothing
  to do; else any track carrying an analysis of that hash gives it (the same file, uploaded again or
  by another playlist, is never analysed twice); else the file is downloaded and analysed;
- ``analysis`` keeps the whole ``aidj analyze`` row (confidences, runner-up key, first downbeat,
  intro and outro bars) with the hash, version and time it was made from;
- ``bpm``, ``key`` and ``energy`` are filled only where empty, with source ``analysis``: a value
  from tags, the playlist or the DJ always wins. The track is re-read just before it is written,
  so a DJ's correction made meanwhile is kept.

Progress goes to ``playlists.analysis_progress`` (the playlist page polls it). Each track's result is
written as it is found, so a run that dies is resumed by the next without redoing finished tracks.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from pathlib import Path
from typing import Any

import redis

from service.config import load_config
from service.dj.analysis import ANALYSIS_VERSION, analyze
from service.integrations.directus import DirectusClient, DirectusNotFound
from service.jobs import state
from service.jobs.queue import enqueue

log = logging.getLogger(__name__)

PIPELINE = "analyze"
COLLECTION = "playlists"
# The lock name differs from ingest's, which works on the same playlist items.
LOCK_COLLECTION = "playlists-analysis"
#: Values analysis may fill, and the row field each comes from.
FILLED = ("bpm", "key", "energy")
TRACK_FIELDS = ("id", "file", "file_hash", "bpm", "key", "energy", "sources", "analysis")
PROGRESS_EVERY = 1


def queue_after_ingest(directus: DirectusClient, playlist_id: str) -> None:
    """Mark the playlist's analysis queued and enqueue it (called by ingest when it is done)."""
    directus.update_item(
        COLLECTION, playlist_id, {"analysis_status": "queued", "analysis_progress": 0}
    )
    try:
        enqueue(PIPELINE, playlist_id)
    except redis.RedisError:
        log.exception("could not enqueue the analysis of playlist %s", playlist_id)


def run(playlist_id: str) -> str:
    """RQ entry point: analyse one playlist's tracks."""
    state.job_logging()
    config = load_config()
    with state.item_locked(LOCK_COLLECTION, playlist_id, config) as held:
        return _run_locked(state.directus_client(config), playlist_id) if held else "busy"


def terminal_failure(playlist_id: str, message: str) -> None:
    """Mark the analysis failed from outside its job (timeout, dead worker)."""
    directus = state.directus_client()
    with contextlib.suppress(DirectusNotFound):
        directus.update_item(COLLECTION, playlist_id, {"analysis_status": "failed"})
    log.warning("analysis of playlist %s failed: %s", playlist_id, message)


def _playlist_tracks(directus: DirectusClient, playlist_id: str) -> list[dict[str, Any]]:
    links = directus.iter_items(
        "playlist_tracks", filter={"playlist": {"_eq": playlist_id}}, fields=["track"]
    )
    ids = list(dict.fromkeys(str(link["track"]) for link in links if link.get("track")))
    rows: list[dict[str, Any]] = []
    for start in range(0, len(ids), 100):
        rows += directus.iter_items(
            "tracks", filter={"id": {"_in": ids[start : start + 100]}}, fields=list(TRACK_FIELDS)
        )
    return [r for r in rows if r.get("file") and r.get("file_hash")]


def _current(analysis: Any, file_hash: str) -> bool:
    return (
        isinstance(analysis, dict)
        and analysis.get("file_hash") == file_hash
        and analysis.get("version") == ANALYSIS_VERSION
    )


def _known(directus: DirectusClient, hashes: list[str]) -> dict[str, dict[str, Any]]:
    """Analyses already stored for any of ``hashes`` (on any track)."""
    known: dict[str, dict[str, Any]] = {}
    for start in range(0, len(hashes), 100):
        for row in directus.iter_items(
            "tracks",
            filter={
                "file_hash": {"_in": hashes[start : start + 100]},
                "analysis": {"_nnull": True},
            },
            fields=["file_hash", "analysis"],
        ):
            if _current(row.get("analysis"), row["file_hash"]):
                known.setdefault(row["file_hash"], row["analysis"])
    return known


def _analyse_file(directus: DirectusClient, track: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="aidj-analysis-") as tmp:
        meta = directus.get_item("directus_files", track["file"], fields=["filename_download"])
        name = Path(meta.get("filename_download") or "audio").name
        target = Path(tmp) / name
        directus.download_file(track["file"], target)
        row = analyze(target).to_json()
    row.pop("path", None)
    return {
        **row,
        "file_hash": track["file_hash"],
        "version": ANALYSIS_VERSION,
        "analysed_at": state.now_iso(),
    }


def fill_changes(track: dict[str, Any], analysis: dict[str, Any]) -> dict[str, Any]:
    """The update for ``track``: the analysis itself, and the values it may fill (see module doc)."""
    changes: dict[str, Any] = {"analysis": analysis}
    if analysis.get("error"):
        return changes
    sources = dict(track.get("sources") or {})
    for name in FILLED:
        value = analysis.get(name)
        if name == "key" and isinstance(value, dict):
            value = value.get("camelot")
        if value is None or track.get(name) not in (None, ""):
            continue
        changes[name] = value
        sources[name] = "analysis"
    if len(changes) > 1:
        changes["sources"] = sources
    return changes


def _run_locked(directus: DirectusClient, playlist_id: str) -> str:
    try:
        playlist = directus.get_item(
            COLLECTION, playlist_id, fields=["id", "analysis_status", "analysis_progress"]
        )
    except DirectusNotFound:
        return "gone"
    if playlist.get("analysis_status") not in state.ACTIVE:
        return str(playlist.get("analysis_status"))
    directus.update_item(COLLECTION, playlist_id, {"analysis_status": "running"})
    tracks = _playlist_tracks(directus, playlist_id)
    todo = [t for t in tracks if not _current(t.get("analysis"), t["file_hash"])]
    known = _known(directus, sorted({t["file_hash"] for t in todo}))
    analysed = copied = 0
    last = -1
    for n, track in enumerate(todo, start=1):
        result = known.get(track["file_hash"])
        if result is None:
            try:
                result = _analyse_file(directus, track)
            except DirectusNotFound:  # the file was deleted meanwhile: nothing to analyse
                log.info("track %s: its file %s is gone", track["id"], track["file"])
                continue
            known[track["file_hash"]] = result
            analysed += 1
        else:
            copied += 1
        fresh = directus.get_item("tracks", track["id"], fields=list(TRACK_FIELDS))
        directus.update_item("tracks", track["id"], fill_changes(fresh, result))
        percent = int(100 * n / max(1, len(todo)))
        if percent >= last + 5 and n < len(todo):
            directus.update_item(COLLECTION, playlist_id, {"analysis_progress": percent})
            last = percent
    directus.update_item(
        COLLECTION, playlist_id, {"analysis_status": "done", "analysis_progress": 100}
    )
    log.info(
        "playlist %s: %d tracks with audio, %d analysed, %d from an earlier analysis of the same file",
        playlist_id, len(tracks), analysed, copied,
    )  # fmt: skip
    return "done"
