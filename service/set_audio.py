"""A set's rendered audio: a preview per transition and, on request, the whole mix with its cue sheet.

Two fields of ``sets``, each with one writer. ``render_request`` (the site and the generate job) is
what was last asked: ``{mix: bool, keylock: bool, at}``. ``render`` (the render job) is the last render::

    {status: running|done|failed, progress, error, requested_at, at,
     previews: [{from, to, file, seconds, blend_at_s, blend_s, beatmatched, speed, note, peaks}],
     skipped: [{position, label, reason}], mix: {file, cue_file, seconds, tracks} | null}

A render whose ``requested_at`` is not the request's ``at`` is out of date: a newer request waits
(:func:`status` says ``queued``). ``from`` and ``to`` are set positions (1-based). The files are
Directus files in the private :data:`FOLDER`: no DJ role may read Directus files, and the site streams
them only to the set's owner. They are deleted with the set (the site, the privacy erase) and, as a
backstop for a set deleted any other way, by the nightly job once no set names them
(:func:`delete_orphans`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from service.integrations.directus import DirectusClient, DirectusForbidden, DirectusNotFound

log = logging.getLogger(__name__)

FOLDER = "set-audio"
ACTIVE = ("queued", "running")
#: A file younger than this is not an orphan yet: its render may not have recorded it.
ORPHAN_GRACE = timedelta(hours=6)
MIME = {"mp3": "audio/mpeg", "opus": "audio/ogg", "flac": "audio/flac", "cue": "application/x-cue"}


def file_ids(render: Mapping[str, Any] | None) -> list[str]:
    """Every stored file ``render`` names."""
    if not render:
        return []
    ids = [str(p["file"]) for p in render.get("previews") or [] if p.get("file")]
    mix = render.get("mix") or {}
    ids += [str(mix[k]) for k in ("file", "cue_file") if mix.get(k)]
    return ids


def delete_files(directus: DirectusClient, ids: list[str]) -> int:
    """Delete these files from storage; a file already gone counts as deleted."""
    deleted = 0
    for file_id in ids:
        with contextlib.suppress(DirectusNotFound, DirectusForbidden):
            directus.delete_item("directus_files", file_id)
        deleted += 1
    return deleted


def delete_set(directus: DirectusClient, set_id: str) -> None:
    """Delete a set with its rendered audio."""
    try:
        item = directus.get_item("sets", set_id, fields=["render"])
    except DirectusNotFound:
        return
    directus.delete_item("sets", set_id)
    delete_files(directus, file_ids(item.get("render")))


def status(item: Mapping[str, Any]) -> str | None:
    """Where the set's render stands: None (never asked), queued, running, done or failed."""
    asked = item.get("render_request") or {}
    render = item.get("render") or {}
    if not asked:
        return None
    if render.get("requested_at") != asked.get("at"):
        return "queued"
    return str(render.get("status") or "queued")


def forget_renders(directus: DirectusClient, playlist_id: str) -> int:
    """Delete the rendered audio of every set built from a playlist whose uploaded audio is deleted
    (the previews and mixes are made of it); returns the files deleted."""
    deleted = 0
    for item in directus.list_items("sets", filter={"playlist": {"_eq": playlist_id}, "render": {"_nnull": True}},
                                    fields=["id", "render"], limit=-1):  # fmt: skip
        deleted += delete_files(directus, file_ids(item.get("render")))
        directus.update_item("sets", str(item["id"]), {"render": None, "render_request": None})
    return deleted


def waiting_s(item: Mapping[str, Any]) -> float:
    """Seconds since the set's last render request (0 when there is none)."""
    asked = (item.get("render_request") or {}).get("at")
    if not asked:
        return 0.0
    return (datetime.now(UTC) - datetime.fromisoformat(str(asked))).total_seconds()


def request(directus: DirectusClient, item: Mapping[str, Any], *, mix: bool,
            keylock: bool = False) -> dict[str, Any]:  # fmt: skip
    """Ask for a render of the set ``item`` (its previews, and the mix when ``mix``; with
    ``keylock`` each track keeps its pitch when its tempo changes); a mix asked for and not yet
    rendered stays asked. What is stored stays playable meanwhile."""
    pending = (item.get("render_request") or {}).get("mix") and status(item) in ACTIVE
    asked = {"mix": bool(mix or pending), "keylock": keylock, "at": datetime.now(UTC).isoformat()}
    directus.update_item("sets", str(item["id"]), {"render_request": asked})
    return asked


@dataclass(frozen=True)
class StoredAudio:
    """One stored file of a set's render, as the site serves it."""

    file: str
    mime: str
    filename: str


def find(render: Mapping[str, Any] | None, name: str) -> StoredAudio | None:
    """The file behind ``name``: ``preview-N`` (the Nth transition), ``mix`` or ``cue``."""
    render = render or {}
    mix = render.get("mix") or {}
    if name == "mix" and mix.get("file"):
        return StoredAudio(str(mix["file"]), MIME["mp3"], "mix.mp3")
    if name == "cue" and mix.get("cue_file"):
        return StoredAudio(str(mix["cue_file"]), MIME["cue"], "mix.cue")
    if name.startswith("preview-") and name[8:].isdigit():
        previews = render.get("previews") or []
        n = int(name[8:])
        if 1 <= n <= len(previews) and previews[n - 1].get("file"):
            p = previews[n - 1]
            return StoredAudio(str(p["file"]), MIME["mp3"], f"transition-{p['from']}-{p['to']}.mp3")
    return None


def delete_orphans(directus: DirectusClient, now: datetime | None = None) -> int:
    """Delete files in :data:`FOLDER` that no set names any more (older than :data:`ORPHAN_GRACE`)."""
    folders = directus.list_items("directus_folders", filter={"name": {"_eq": FOLDER}},
                                  fields=["id"], limit=1)  # fmt: skip
    if not folders:
        return 0
    before = ((now or datetime.now(UTC)) - ORPHAN_GRACE).isoformat()
    stored = directus.list_items(
        "directus_files",
        filter={"folder": {"_eq": folders[0]["id"]}, "uploaded_on": {"_lt": before}},
        fields=["id"],
        limit=-1,
    )
    if not stored:
        return 0
    named: set[str] = set()
    for item in directus.iter_items("sets", filter={"render": {"_nnull": True}},
                                    fields=["render"]):  # fmt: skip
        named.update(file_ids(item.get("render")))
    orphans = [str(f["id"]) for f in stored if str(f["id"]) not in named]
    if orphans:
        log.info("deleting %d rendered files no set names", len(orphans))
    return delete_files(directus, orphans)
