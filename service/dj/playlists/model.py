"""What parsing a playlist gives: entries, problems, the parsed playlist, the limits and the error."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from service.dj.keys import Key
from service.dj.tracks import fields_to_json

__all__ = ["Limits", "Location", "Playlist", "PoolEntry", "PoolError", "Problem"]


class PoolError(ValueError):
    """The input cannot be used as a playlist or pool at all; the message says why."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one upload may hold (a whole-library Rekordbox export of 50,000 tracks fits)."""

    max_bytes: int = 64 * 1024 * 1024
    max_entries: int = 50_000
    max_line_chars: int = 4096  # PATH_MAX on Linux; no real path or #EXTINF line is longer


@dataclass(frozen=True, slots=True)
class Problem:
    """A skipped line, an ignored value or an unreadable file, with a reason a DJ can read."""

    line: int | None
    reason: str
    path: str | None = None  # the file concerned, when the problem is about a file
    entry: str | None = None  # the playlist's line or entry as written, when known

    def to_json(self) -> dict[str, Any]:
        """``{line, reason}``, plus ``path`` (a file) and ``entry`` (the text as written) when known."""
        out: dict[str, Any] = {"line": self.line, "reason": self.reason}
        if self.path is not None:
            out["path"] = self.path
        if self.entry is not None:
            out["entry"] = self.entry
        return out


@dataclass(frozen=True, slots=True)
class Location:
    """Where an entry lives: a normalised local path, or a remote URL."""

    path: str | None = None
    url: str | None = None


@dataclass(slots=True)
class PoolEntry:
    """One track of a playlist or collection, as the file described it."""

    line: int | None
    raw: str
    path: str | None = None
    url: str | None = None
    source_id: str | None = None  # Rekordbox TrackID, Traktor primary key
    duration_s: float | None = None
    artist: str | None = None
    title: str | None = None
    album: str | None = None
    genre: str | None = None
    label: str | None = None
    isrc: str | None = None
    year: int | None = None
    comment: str | None = None
    bpm: float | None = None
    key: Key | None = None
    energy: int | None = None
    duplicate_of: int | None = None  # line of the first entry with the same location
    # Every key the entry gave, by where it was written, when the format has more than one place
    # for it (Traktor: INFO@KEY, the key text, and MUSICAL_KEY@VALUE, its detection).
    keys: dict[str, Key] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The entry shape of ``aidj playlist --json``."""
        return fields_to_json(self)


@dataclass(slots=True)
class Playlist:
    """A parsed playlist or collection: entries in order and the problems met on the way."""

    format: str
    encoding: str
    entries: list[PoolEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    name: str | None = None
    playlists: list[dict[str, Any]] = field(default_factory=list)  # inside a collection

    def to_json(self) -> dict[str, Any]:
        """The shape ``aidj playlist --json`` prints (a contract other tools read)."""
        return {
            "format": self.format,
            "encoding": self.encoding,
            "name": self.name,
            "entries": [e.to_json() for e in self.entries],
            "problems": [p.to_json() for p in self.problems],
            "playlists": list(self.playlists),
        }
