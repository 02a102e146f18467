"""Ingest a playlist: the uploaded playlist file and audio → the owner's ``tracks`` and ``playlist_tracks``.

Parse the playlist (M3U8, Rekordbox XML, Traktor NML or CSV), read the tags of every audio file in the
upload's folder, match entries to files, then create or merge one track per owner (the same file hash,
the same ISRC, or the same artist + title + duration is the same track), write ``playlist_tracks`` in
playlist order and a per-entry problem report. A broken file or line is reported; the rest is kept.
Re-running replaces the playlist's rows and merges into the same tracks, so repeats are harmless.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service.dj.imports import UploadedFile, failure_message, plan_import
from service.dj.matching import FileRef, identity_text, match_entries
from service.dj.playlists import Playlist, PoolEntry, PoolError, Problem, parse_playlist
from service.dj.playlists.text import LINE_SPLIT, decode
from service.dj.pools import merge_entry_and_tags  # the pool loader's precedence rules
from service.dj.tags import AUDIO_EXTENSIONS, TrackTags, read_tags
from service.integrations.directus import DirectusClient
from service.jobs import state
from service.jobs.analysis import queue_after_ingest
from service.jobs.beatport import after_ingest
from service.jobs.queue import redis_connection
from service.track_rows import DIRECTUS_FIELDS, TRACK_ROW_FIELDS, to_directus_value

log = logging.getLogger(__name__)

COLLECTION = "playlists"
# Two tags' durations within this many seconds describe the same recording.
DURATION_SLACK_S = 2.0
BATCH = 100
TRACK_LOCK_TIMEOUT_S = 120


@dataclass
class AudioFile:
    """One uploaded audio file: its Directus id, name, content hash and tags."""

    id: str
    name: str
    sha256: str | None = None
    tags: TrackTags | None = None
    unplayable: str | None = None  # why this is not playable audio


@dataclass
class OwnerTracks:
    """The owner's tracks indexed by each identity, for create-or-merge."""

    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_hash: dict[str, str] = field(default_factory=dict)
    by_isrc: dict[str, str] = field(default_factory=dict)
    by_words: dict[tuple[str, str], list[str]] = field(default_factory=dict)

    def add(self, key: str, row: dict[str, Any]) -> None:
        """Index a row (existing or about to be created) under ``key``."""
        self.rows[key] = row
        if row.get("file_hash"):
            self.by_hash.setdefault(row["file_hash"], key)
        if row.get("isrc"):
            self.by_isrc.setdefault(row["isrc"], key)
        words = (identity_text(row.get("artist")), identity_text(row.get("title")))
        if all(words):
            self.by_words.setdefault(words, []).append(key)

    def find(self, values: dict[str, Any]) -> str | None:
        """The key of the same track: same file hash, same ISRC, or artist + title + duration."""
        if values.get("file_hash") and values["file_hash"] in self.by_hash:
            return self.by_hash[values["file_hash"]]
        if values.get("isrc") and values["isrc"] in self.by_isrc:
            return self.by_isrc[values["isrc"]]
        words = (identity_text(values.get("artist")), identity_text(values.get("title")))
        if not all(words):
            return None
        for key in self.by_words.get(words, []):
            theirs, ours = self.rows[key].get("duration_s"), values.get("duration_s")
            if (
                theirs is None
                or ours is None
                or abs(float(theirs) - float(ours)) <= DURATION_SLACK_S
            ):
                return key
        return None


def run(playlist_id: str) -> str:
    """RQ entry point: ingest one playlist, then start its Beatport lookup if the DJ connected."""
    outcome = state.run_job(COLLECTION, playlist_id, ingest)
    if outcome == "done":
        after_ingest(playlist_id)
    return outcome


def terminal_failure(playlist_id: str, message: str) -> None:
    """Fail the playlist from outside its job (timeout, dead worker)."""
    state.terminal_failure(COLLECTION, playlist_id, message, None)


def _file_name(directus: DirectusClient, file_id: str) -> str:
    meta = directus.get_item("directus_files", file_id, fields=["filename_download"])
    return meta.get("filename_download") or file_id


def _folder_files(directus: DirectusClient, folder: str, skip: str | None) -> list[dict[str, Any]]:
    files = directus.iter_items(
        "directus_files",
        filter={"folder": {"_eq": folder}},
        fields=["id", "filename_download"],
    )
    return [f for f in files if f["id"] != skip]


def _read_audio(
    directus: DirectusClient, files: list[dict[str, Any]], workdir: Path, progress: state.ItemState
) -> tuple[list[AudioFile], list[Problem]]:
    """Download each audio file, hash it and read its tags; say why a file is not playable audio."""
    audio: list[AudioFile] = []
    problems: list[Problem] = []
    for n, meta in enumerate(files):
        name = meta.get("filename_download") or meta["id"]
        if Path(name).suffix.lower() not in AUDIO_EXTENSIONS:
            continue  # e.g. cover art or a second playlist in the folder
        target = workdir / meta["id"] / Path(name).name
        target.parent.mkdir(parents=True)
        directus.download_file(meta["id"], target)
        digest = hashlib.sha256()
        with target.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 16), b""):
                digest.update(chunk)
        tags = read_tags(target)
        unplayable = tags.error
        if unplayable is None and tags.duration_s is not None and tags.duration_s <= 0:
            unplayable = "it holds no sound (0 seconds long)"
        if unplayable is None:
            problems += [Problem(None, warning, name) for warning in tags.warnings]
        audio.append(
            AudioFile(
                meta["id"], name, digest.hexdigest(), None if unplayable else tags, unplayable
            )
        )
        target.unlink()
        progress.progress(10 + 70 * (n + 1) / max(1, len(files)))
    return audio, problems


def _text_lines(data: bytes) -> list[str]:
    """The playlist's text by line, to quote the line a problem is about."""
    try:
        text, _ = decode(data, errors="replace")
    except PoolError:
        return []
    return LINE_SPLIT.split(text)


def _row_values(entry: PoolEntry, fmt: str, audio: AudioFile | None) -> dict[str, Any]:
    """The ``tracks`` row an entry (and its matched file) describe."""
    values, sources = merge_entry_and_tags(entry, fmt, audio.tags if audio else None)
    row: dict[str, Any] = {
        DIRECTUS_FIELDS[name]: to_directus_value(name, value) for name, value in values.items()
    }
    row["path"] = entry.path or entry.url or (audio.name if audio else None)
    row["sources"] = sources
    if audio is not None:
        row["file"] = audio.id
        row["file_hash"] = audio.sha256
        if audio.tags is not None:
            row["format"] = audio.tags.format
            row["bitrate"] = audio.tags.bitrate
            row["sample_rate"] = audio.tags.sample_rate
    return row


def _owner_tracks(directus: DirectusClient, owner: str) -> OwnerTracks:
    index = OwnerTracks()
    for row in directus.iter_items(
        "tracks", filter={"owner": {"_eq": owner}}, fields=list(TRACK_ROW_FIELDS)
    ):
        index.add(str(row["id"]), row)
    return index


def _merge_changes(existing: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Fill what the stored track lacks; a value already there (maybe the DJ's own) is kept."""
    changes: dict[str, Any] = {}
    sources = dict(existing.get("sources") or {})
    for name, value in values.items():
        if name in ("sources", "id", "owner") or value is None:
            continue
        if existing.get(name) in (None, ""):
            changes[name] = value
            field_name = next((k for k, v in DIRECTUS_FIELDS.items() if v == name), name)
            if field_name in (values.get("sources") or {}):
                sources[field_name] = values["sources"][field_name]
    if changes and sources != (existing.get("sources") or {}):
        changes["sources"] = sources
    return changes


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _upsert_tracks(
    directus: DirectusClient, owner: str, rows: list[dict[str, Any] | None]
) -> list[str | None]:
    """Create or merge each row as one of the owner's tracks; returns track ids in row order."""
    index = _owner_tracks(directus, owner)
    keys: list[str | None] = []
    new_rows: list[dict[str, Any]] = []
    new_ids: set[str] = set()  # tracks created by this batch merge on creation, not by update
    updates: dict[str, dict[str, Any]] = {}
    for values in rows:
        if values is None:
            keys.append(None)
            continue
        key = index.find(values)
        if key is None:
            # Our own primary key: Directus does not return a batch in the order it was sent.
            key = str(uuid.uuid4())
            row = {**values, "id": key, "owner": owner}
            index.add(key, row)
            new_rows.append(row)
            new_ids.add(key)
        elif key not in new_ids:
            changes = _merge_changes({**index.rows[key], **updates.get(key, {})}, values)
            if changes:
                updates.setdefault(key, {}).update(changes)
        keys.append(key)
    for chunk in _chunks(new_rows, BATCH):
        directus.create_items("tracks", chunk)
    if updates:
        directus.update_batch(
            "tracks", [{"id": key, **changes} for key, changes in updates.items()]
        )
    return keys


def ingest(directus: DirectusClient, playlist: dict[str, Any], progress: state.ItemState) -> None:
    """Parse, read, match, create or merge tracks, write the playlist's rows and report."""
    owner = playlist["owner"]
    if not playlist.get("source_file"):
        raise state.JobFailure("No playlist file was uploaded.")
    source_name = _file_name(directus, playlist["source_file"])
    data = directus.download_file(playlist["source_file"])
    assert isinstance(data, bytes)
    try:
        parsed: Playlist = parse_playlist(data, filename=source_name)
    except PoolError as exc:
        raise state.JobFailure(f"The playlist file could not be read: {exc}") from None
    problems: list[Problem] = list(parsed.problems)
    progress.progress(10, source_format=parsed.format, entry_count=len(parsed.entries))

    files = _folder_files(directus, playlist["upload_folder"], playlist["source_file"]) \
        if playlist.get("upload_folder") else []  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="aidj-ingest-") as tmp:
        audio, file_problems = _read_audio(directus, files, Path(tmp), progress)

    by_id = {a.id: a for a in audio}
    refs = [
        FileRef(a.id, a.name, a.tags.artist if a.tags else None, a.tags.title if a.tags else None)
        for a in audio
    ]
    matched = match_entries(parsed.entries, refs)
    plan = plan_import(
        parsed.entries,
        problems,
        [UploadedFile(a.id, a.name, a.unplayable) for a in audio],
        {m.index: m.file_id for m in matched.matches},
        _text_lines(data),
    )
    problems = plan.problems + file_problems
    problems.sort(key=lambda p: (p.line is None, p.line or 0))
    failure = failure_message(plan, source_name, len(parsed.entries))
    if failure:
        progress.progress(90, entry_count=len(parsed.entries), matched_count=0,
                          problems=[p.to_json() for p in problems])  # fmt: skip
        raise state.JobFailure(failure)

    rows: list[dict[str, Any] | None] = []
    for i, entry in enumerate(parsed.entries):
        if i not in plan.use:
            rows.append(None)
            continue
        file_id = plan.use[i]
        rows.append(_row_values(entry, parsed.format, by_id[file_id] if file_id else None))

    lock = redis_connection().lock(
        f"aidj:tracks-lock:{owner}", timeout=TRACK_LOCK_TIMEOUT_S, blocking_timeout=60
    )
    with lock:  # two uploads of one DJ must not both create the same new track
        track_ids = _upsert_tracks(directus, owner, rows)
    progress.progress(90)

    old = directus.list_items(
        "playlist_tracks", filter={"playlist": {"_eq": playlist["id"]}}, fields=["id"], limit=-1
    )
    directus.delete_items("playlist_tracks", [r["id"] for r in old])
    links = [
        {
            "playlist": playlist["id"],
            "track": track_id,
            "position": position,
            "line": entry.line,
            "raw_entry": entry.raw[:2000],
        }
        for position, (entry, track_id) in enumerate(
            ((e, t) for e, t in zip(parsed.entries, track_ids, strict=True) if t is not None),
            start=1,
        )
    ]
    for chunk in _chunks(links, BATCH * 2):
        directus.create_items("playlist_tracks", chunk)
    progress.done(
        entry_count=len(parsed.entries),
        matched_count=plan.matched,
        problems=[p.to_json() for p in problems],
    )
    if plan.matched:  # tracks with audio: the analysis fills what tags left empty
        queue_after_ingest(directus, playlist["id"])
    log.info(
        "playlist %s: %d entries, %d matched files, %d tracks linked, %d problems",
        playlist["id"], len(parsed.entries), plan.matched, len(links), len(problems),
    )  # fmt: skip
