"""Pools: the tracks a set is chosen from, loaded from a playlist, a DJ collection or a folder.

``load_pool(path)`` accepts an M3U/M3U8, a PLS, a Rekordbox XML or text export, a Traktor NML, a CSV
or a folder of audio files. For playlist entries whose file exists on this machine, the file's tags
are merged in: tags win over an M3U's ``#EXTINF`` or a PLS's title (which players derive from the
tags anyway); a collection's, a text export's or a CSV's values win over tags, since they hold the
DJ's own analysis and corrections. Duplicate entries are dropped with a problem naming the first
one; sampler sounds (Rekordbox's sampler, Traktor's factory sounds) are left out, with a problem
saying how many. Track ids are short hashes of the location, so the
same pool file always gives the same ids, whatever the order of its entries.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from service.dj.playlists import (
    Limits,
    Playlist,
    PoolEntry,
    PoolError,
    Problem,
    location_key,
    read_playlist,
)
from service.dj.playlists.samplers import leave_out_samplers
from service.dj.tags import TrackTags, iter_audio_files, read_tags
from service.dj.tracks import Track

__all__ = ["Pool", "PoolError", "Problem", "load_pool", "merge_entry_and_tags", "track_id"]

# Formats whose text a player derived from the tags: the tags are the better source.
_PLAYER_TEXT_FORMATS = frozenset({"m3u", "pls"})
# Fields a pool track carries, in Track's order (id, path and sources are handled apart).
_TRACK_FIELDS = (
    "title",
    "artist",
    "album",
    "genre",
    "label",
    "isrc",
    "year",
    "bpm",
    "key",
    "energy",
    "duration_s",
)


@dataclass(frozen=True)
class Pool:
    """The tracks of one pool and the problems met while loading it."""

    format: str
    tracks: list[Track]
    problems: list[Problem]

    def to_json(self) -> dict[str, Any]:
        """``{format, tracks, problems}``."""
        return {
            "format": self.format,
            "tracks": [t.to_json() for t in self.tracks],
            "problems": [p.to_json() for p in self.problems],
        }


def track_id(identity: str) -> str:
    """A short stable id for a track from what identifies it in its pool (its location)."""
    return "t" + hashlib.sha1(identity.encode("utf-8"), usedforsecurity=False).hexdigest()[:10]


class _Ids:
    """Hands out stable ids, suffixing the (astronomically rare) hash collision."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def new(self, identity: str) -> str:
        base = candidate = track_id(identity)
        n = 1
        while candidate in self.used:
            n += 1
            candidate = f"{base}-{n}"
        self.used.add(candidate)
        return candidate


def _tag_problems(tags: TrackTags, line: int | None = None) -> list[Problem]:
    if tags.error:
        return [Problem(line, tags.error, tags.path)]
    return [Problem(line, warning, tags.path) for warning in tags.warnings]


def _from_folder(folder: str) -> Pool:
    ids, tracks = _Ids(), []
    files = list(iter_audio_files(folder))
    if not files:
        raise PoolError(f"no audio files in {folder}")
    files, problems = leave_out_samplers(files, lambda f: f, lambda _: None)
    for file in files:
        tags = read_tags(file)
        problems += _tag_problems(tags)
        if tags.error:
            continue
        rel = os.path.relpath(file, folder).replace(os.sep, "/")
        values = {name: getattr(tags, name) for name in _TRACK_FIELDS}
        tracks.append(Track(id=ids.new(rel), path=file, sources=dict(tags.sources), **values))
    return Pool("folder", tracks, problems)


def _local_file(entry: PoolEntry, folder: str) -> str | None:
    """The file an entry names on this machine, if it is here: as written, else beside the playlist."""
    if entry.path is None:
        return None
    path = entry.path if os.path.isabs(entry.path) else os.path.join(folder, entry.path)
    if os.path.isfile(path):
        return path
    beside = os.path.join(folder, entry.path.rsplit("/", 1)[-1])
    return beside if os.path.isfile(beside) else None


def merge_entry_and_tags(
    entry: PoolEntry, fmt: str, tags: TrackTags | None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Field values and their sources from a playlist entry and (optionally) the file's tags.

    An M3U's or PLS's display text loses to the file's tags; a collection's or table's own values
    win over them.
    """
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    from_entry = {name: getattr(entry, name) for name in _TRACK_FIELDS}
    from_tags = {name: getattr(tags, name) for name in _TRACK_FIELDS} if tags else {}
    tags_first = fmt in _PLAYER_TEXT_FORMATS
    for name in _TRACK_FIELDS:
        order = (("tags", from_tags), ("entry", from_entry))
        for origin, candidates in order if tags_first else order[::-1]:
            value = candidates.get(name)
            if value is not None:
                values[name] = value
                if origin == "tags" and tags:
                    sources[name] = tags.sources.get(name, "tag")
                else:
                    # a format with several places for a key says which one gave it
                    spots = entry.keys.items() if name == "key" else ()
                    spot = next((s for s, k in spots if k == value), None)
                    sources[name] = f"playlist:{fmt}" + (f":{spot}" if spot else "")
                break
    return values, sources


def _from_playlist(path: str, playlist: str | None, limits: Limits | None) -> Pool:
    parsed: Playlist = read_playlist(path, playlist=playlist, limits=limits)
    folder = os.path.dirname(os.path.abspath(path))
    ids, tracks, problems = _Ids(), [], list(parsed.problems)
    for entry in parsed.entries:
        if entry.duplicate_of is not None:
            problems.append(
                Problem(entry.line, f"same track as line {entry.duplicate_of}; skipped")
            )
            continue
        tags = None
        if (file := _local_file(entry, folder)) is not None:
            tags = read_tags(file)
            problems += _tag_problems(tags, entry.line)
            if tags.error:
                tags = None
        values, sources = merge_entry_and_tags(entry, parsed.format, tags)
        identity = location_key(entry) or f"line:{entry.line}"
        tracks.append(
            Track(id=ids.new(identity), path=entry.path or entry.url, sources=sources, **values)
        )
    return Pool(parsed.format, tracks, problems)


def load_pool(
    path: Path | str, *, playlist: str | None = None, limits: Limits | None = None
) -> Pool:
    """Load a pool from a playlist, collection, CSV or folder; raise :class:`PoolError` if unusable.

    ``playlist`` picks one playlist inside a Rekordbox or Traktor collection (by name or path).
    """
    path = os.fspath(path)
    if os.path.isdir(path):
        if playlist is not None:
            raise PoolError(
                "choosing a playlist by name works for Rekordbox and Traktor collections only"
            )
        return _from_folder(path)
    if not os.path.exists(path):
        raise PoolError(f"{path}: no such file or folder")
    return _from_playlist(path, playlist, limits)
