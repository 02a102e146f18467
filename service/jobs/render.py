"""Render a set's audio: a preview per transition and, when the DJ asks, the whole mix.

The generate pipeline asks for the previews when it has built a set of which two or more tracks
have uploaded audio (:func:`after_generate`); the set page asks for the mix. The state lives in
``sets.render`` (see :mod:`service.set_audio`), apart from the set's own ``status``.

Each track's file is downloaded when its turn in the mix comes and removed once decoded, so the
worker's disk holds one track at a time besides the outputs; its beat grid is the analysis's (the
file is analysed here when there is none). A track without audio or whose file cannot be decoded is
left out and listed under ``skipped``: the transition goes from the track before it to the one
after. The previews (45 s, MP3) and the mix (MP3, chapter marks, a ``.cue`` sheet) are rendered with
:func:`service.dj.render.render_set`, exactly as ``aidj set render`` does, then stored in the
private ``set-audio`` folder; the files of the render they replace are deleted afterwards. A request
made while a render runs (the DJ asks for the mix during the previews) is taken up by the same job
when it finishes.
"""

from __future__ import annotations

import contextlib
import logging
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import redis

from service import set_audio
from service.config import load_config
from service.integrations.directus import DirectusClient, DirectusForbidden, DirectusNotFound
from service.jobs import state
from service.jobs.queue import enqueue
from service.track_rows import track_from_item

log = logging.getLogger(__name__)

PIPELINE = "render"
# The lock name differs from generate's, which works on the same set.
LOCK_COLLECTION = "sets-render"
TRACK_FIELDS = ("id", "title", "artist", "path", "file", "bpm", "analysis", "sources")
NO_AUDIO = "no audio uploaded for this track"


def after_generate(directus: DirectusClient, set_id: str) -> bool:
    """Ask for the previews of a set just built, when two or more of its tracks have audio; the
    previews of an earlier build of the set no longer match its order, so their files go."""
    with_audio = directus.count(
        "set_tracks", filter={"set": {"_eq": set_id}, "track": {"file": {"_nnull": True}}}
    )
    item = directus.get_item("sets", set_id, fields=["id", "render"])
    set_audio.delete_files(directus, set_audio.file_ids(item.get("render")))
    directus.update_item("sets", set_id, {"render": None, "render_request": None})
    if with_audio < 2:
        return False
    set_audio.request(directus, {"id": set_id}, mix=False)
    try:
        enqueue(PIPELINE, set_id)
    except redis.RedisError:
        log.exception("could not enqueue the render of set %s", set_id)
    return True


def run(set_id: str) -> str:
    """RQ entry point: render what was asked for one set."""
    state.job_logging()
    config = load_config()
    with state.item_locked(LOCK_COLLECTION, set_id, config) as held:
        if not held:
            return "busy"
        directus = state.directus_client(config)
        outcome = "not asked"
        # Until nothing is asked: a request made while this render ran is taken up here, since
        # enqueueing it found this job still running.
        while (result := _render_once(directus, set_id)) is not None:
            outcome = result
            if outcome == "gone":
                break
        return outcome


def terminal_failure(set_id: str, message: str) -> None:
    """Mark the render failed from outside its job (timeout, dead worker, last retry)."""
    directus = state.directus_client()
    with contextlib.suppress(DirectusNotFound, DirectusForbidden):
        item = directus.get_item("sets", set_id, fields=["render", "render_request"])
        # Failed for the request it was running: the page stops waiting, the DJ may ask again.
        asked = (item.get("render_request") or {}).get("at")
        render = {**(item.get("render") or {}), "status": "failed", "error": message,
                  "requested_at": asked}  # fmt: skip
        directus.update_item("sets", set_id, {"render": render})
    log.warning("render of set %s failed: %s", set_id, message)


def _label(track: Mapping[str, Any]) -> str:
    artist, title = track.get("artist"), track.get("title")
    return f"{artist} – {title}" if artist and title else str(title or artist or "Untitled")


def _read(directus: DirectusClient, set_id: str) -> dict[str, Any] | None:
    try:
        return directus.get_item(
            "sets", set_id, fields=["id", "status", "render", "render_request"]
        )
    except (DirectusNotFound, DirectusForbidden):
        return None


def _render_once(directus: DirectusClient, set_id: str) -> str | None:
    """One pass: None when nothing is asked, else what happened."""
    item = _read(directus, set_id)
    if item is None:
        return "gone"
    if set_audio.status(item) != "queued" and (item.get("render") or {}).get("status") != "running":
        return None
    if item.get("status") != "done" or not item.get("render_request"):
        return None  # being rebuilt: its generate job asks again when done
    asked = dict(item["render_request"])
    before = dict(item.get("render") or {})
    running = {**before, "status": "running", "progress": 0, "error": None,
               "requested_at": asked.get("at")}  # fmt: skip
    directus.update_item("sets", set_id, {"render": running})
    with tempfile.TemporaryDirectory(prefix="aidj-render-") as tmp:
        try:
            outputs = _render_files(directus, set_id, running, asked, Path(tmp))
        except state.JobFailure as exc:
            failed = {**running, "status": "failed", "error": str(exc)}
            directus.update_item("sets", set_id, {"render": failed})
            return "failed"
        stored = _store(directus, outputs)
    return _record(directus, set_id, asked, before, stored)


def _render_files(
    directus: DirectusClient,
    set_id: str,
    running: dict[str, Any],
    asked: Mapping[str, Any],
    folder: Path,
) -> dict[str, Any]:
    from service.dj.render import SetTrack, cue_sheet, decode_track, render_set

    rows = directus.list_items(
        "set_tracks",
        filter={"set": {"_eq": set_id}, "track": {"_nnull": True}},
        fields=["position", "transition", *(f"track.{name}" for name in TRACK_FIELDS)],
        sort=["position"],
        limit=-1,
    )
    skipped: list[dict[str, Any]] = []
    playable: list[tuple[int, dict[str, Any]]] = []
    for position, row in enumerate(rows, start=1):
        track = row.get("track") or {}
        if track.get("file"):
            # How it comes in, as the set's tip says (a track after a skipped one keeps its own).
            technique = (row.get("transition") or {}).get("technique")
            playable.append((position, {**track, "technique": technique}))
        else:
            skipped.append({"position": position, "label": _label(track), "reason": NO_AUDIO})
    if len(playable) < 2:
        raise state.JobFailure(
            "Previews need the audio of at least two tracks of the set: upload the audio files "
            "with the playlist."
        )

    def loader(position: int, track: dict[str, Any]) -> Any:
        def load() -> Any:
            target = folder / f"track-{position}"
            try:
                directus.download_file(str(track["file"]), target)
            except DirectusNotFound:
                raise ValueError("its audio file is gone") from None
            try:
                grid = track_from_item(track).beat_grid
                return decode_track(target, grid, _label(track), track.get("technique"))
            finally:
                target.unlink(missing_ok=True)

        return load

    tracks = [SetTrack(loader(p, t), str(t.get("title") or "Untitled"), str(t.get("artist") or ""))
              for p, t in playable]  # fmt: skip
    last = {"percent": 0}

    def on_progress(done: int, total: int) -> None:
        percent = min(95, int(95 * done / max(total, 1)))
        if percent >= last["percent"] + 5:
            last["percent"] = percent
            directus.update_item("sets", set_id, {"render": {**running, "progress": percent}})

    mix = folder / "mix.mp3" if asked.get("mix") else None
    previews = folder / "previews"
    previews.mkdir()
    rendered = render_set(tracks, mix=mix, previews=previews, preview_format="mp3",
                          keylock=bool(asked.get("keylock")), on_progress=on_progress)  # fmt: skip
    for failed in rendered.failed:
        position, track = playable[failed.index]
        skipped.append({"position": position, "label": _label(track),
                        "reason": failed.error or "its audio could not be decoded"})  # fmt: skip
    if len(rendered.played) < 2:
        raise state.JobFailure(
            "Fewer than two tracks of this set could be decoded: nothing to hear."
        )
    outputs: dict[str, Any] = {
        "previews": [
            {
                "path": p.path,
                "from": playable[p.from_index][0],
                "to": playable[p.to_index][0],
                "seconds": round(p.seconds, 2),
                "blend_at_s": round(p.blend_at_s, 2),
                "blend_s": round(p.blend_s, 2),
                "beatmatched": p.beatmatched,
                "speed": round(p.speed, 5),
                "note": p.note,
                "technique": p.technique,
                "peaks": p.peaks,
            }
            for p in rendered.previews
        ],
        "skipped": sorted(skipped, key=lambda s: s["position"]),
        "mix": None,
        "keylock": bool(asked.get("keylock")),
    }
    if mix is not None:
        cue = folder / "mix.cue"
        cue.write_text(cue_sheet(mix.name, tracks, rendered.played), encoding="utf-8")
        outputs["mix"] = {"path": mix, "cue_path": cue, "seconds": round(rendered.seconds, 1),
                          "tracks": len(rendered.played)}  # fmt: skip
    log.info(
        "set %s: %d previews%s, %d tracks skipped, rendered in %.1f s",
        set_id, len(rendered.previews), f", a {rendered.seconds / 60:.1f}-minute mix" if mix else "",
        len(skipped), rendered.render_s,
    )  # fmt: skip
    return outputs


def _store(directus: DirectusClient, outputs: dict[str, Any]) -> dict[str, Any]:
    """Upload the rendered files; the state to record, with file ids instead of paths."""
    folder = directus.folder(set_audio.FOLDER)
    stored: dict[str, Any] = {**outputs, "previews": []}
    try:
        for preview in outputs["previews"]:
            path: Path = preview["path"]
            uploaded = directus.upload_file(path, path.name, mime_type=set_audio.MIME["mp3"],
                                            metadata={"folder": folder})  # fmt: skip
            entry = {k: v for k, v in preview.items() if k != "path"}
            stored["previews"].append({**entry, "file": str(uploaded["id"])})
        if outputs["mix"] is not None:
            mix = outputs["mix"]
            stored["mix"] = {"seconds": mix["seconds"], "tracks": mix["tracks"]}
            stored["mix"]["file"] = str(directus.upload_file(
                mix["path"], "mix.mp3", mime_type=set_audio.MIME["mp3"], metadata={"folder": folder}
            )["id"])  # fmt: skip
            stored["mix"]["cue_file"] = str(directus.upload_file(
                mix["cue_path"], "mix.cue", mime_type=set_audio.MIME["cue"], metadata={"folder": folder}
            )["id"])  # fmt: skip
    except BaseException:
        set_audio.delete_files(directus, set_audio.file_ids(stored))
        raise
    return stored


def _record(directus: DirectusClient, set_id: str, asked: dict[str, Any],
            before: dict[str, Any], stored: dict[str, Any]) -> str:  # fmt: skip
    """Write the new render over the old one and delete the files it replaces."""
    current = _read(directus, set_id)
    if current is None or current.get("status") != "done":
        # Deleted or rebuilt meanwhile: what was rendered belongs to no set any more.
        set_audio.delete_files(directus, set_audio.file_ids(stored))
        return "gone"
    if stored["mix"] is None and before.get("mix"):
        stored["mix"] = before["mix"]  # the mix of the same order stays until a new one is rendered
    record = {**stored, "status": "done", "progress": 100, "error": None,
              "requested_at": asked.get("at"), "at": state.now_iso()}  # fmt: skip
    directus.update_item("sets", set_id, {"render": record})
    kept = set(set_audio.file_ids(record))
    set_audio.delete_files(directus, [f for f in set_audio.file_ids(before) if f not in kept])
    return "done"
