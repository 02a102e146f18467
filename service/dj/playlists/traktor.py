"""Traktor NML collections: ``COLLECTION/ENTRY`` elements and ``PLAYLISTS`` nodes.

Field spots come from the field table (``TrackField.nml``, ``ELEMENT@ATTRIBUTE``). A location is
``LOCATION VOLUME DIR FILE`` with ``DIR="/:Users/:dj/:"``; playlists name tracks by
``VOLUME + DIR + FILE`` (``PRIMARYKEY KEY``).

The volume decides where the path starts. A Windows drive letter (``E:``) starts it: ``E:/DJ/x.mp3``.
On macOS only the startup disk's paths start at ``/``; every other volume is mounted at
``/Volumes/<name>``, so ``VOLUME="Transcend" DIR="/:DJing/:"`` is ``/Volumes/Transcend/DJing/…``.
The NML does not say which volume is the startup disk, so it is the one named ``Macintosh HD``
(macOS's default) or any volume holding a path under a macOS system folder (``/Users``,
``/Applications``, ``/Library``…), which only the startup disk has.

Keys: ``INFO KEY`` is the key text the DJ sees and edits (Mixed In Key writes it too), ``MUSICAL_KEY``
Traktor's own detection. The text is used, the detection fills in where there is no text; both are
kept in ``PoolEntry.keys`` and a disagreement is reported.
"""

from __future__ import annotations

import re
from typing import Any

from service.dj.playlists.collection import CollectionPlaylist, run_xml, select, xml_parser
from service.dj.playlists.fields import check_count, entry_from
from service.dj.playlists.model import Limits, Playlist, PoolEntry, Problem
from service.dj.playlists.paths import flag_duplicates, normalise_location
from service.dj.tracks import FIELDS, FIELDS_BY_NAME

__all__ = ["parse_nml"]

_NML_COLUMNS = [(f, spot) for f in FIELDS for spot in f.nml]
# The field table lists the key text first: that order is the choice between the two.
_KEY_TEXT, _KEY_DETECTED = FIELDS_BY_NAME["key"].nml


_DRIVE_RE = re.compile(r"^([A-Za-z]):[\\/]?$")
_STARTUP_NAMES = {"", "Macintosh HD"}
_MAC_SYSTEM_FOLDERS = {"Users", "Applications", "Library", "System", "private", "Volumes"}


def _is_startup_evidence(directory: str) -> bool:
    """Whether a ``DIR`` lies under a folder only a macOS startup disk has."""
    first = directory.removeprefix("/:").split("/:", 1)[0]
    return first in _MAC_SYSTEM_FOLDERS


def _nml_path(volume: str, directory: str, file: str, startup: set[str]) -> str:
    """The full path of ``VOLUME DIR FILE``: drive letter, startup disk, or ``/Volumes/<name>``."""
    path = directory.replace("/:", "/") + file
    if not path.startswith("/"):
        path = "/" + path
    if m := _DRIVE_RE.match(volume):
        return f"{m[1].upper()}:{path}"
    if volume in startup or path.startswith("/Volumes/"):
        return path
    return f"/Volumes/{volume}{path}"


def parse_nml(data: bytes, base: str | None, wanted: str | None, limits: Limits) -> Playlist:
    """The collection's entries, or the entries of playlist ``wanted``, and the playlists inside."""
    result = Playlist("nml", "utf-8")
    parser = xml_parser(result)
    stack: list[str] = []
    by_key: dict[str, PoolEntry] = {}
    nodes: list[str] = []  # names of the open NODEs, the $ROOT node first
    lists: list[CollectionPlaylist] = []
    current: list[CollectionPlaylist] = []  # the playlist being read, if any
    track: dict[str, Any] = {}
    located: list[tuple[str, str, str]] = []  # each entry's (VOLUME, DIR, FILE)

    def start(name: str, attrs: dict[str, str]) -> None:
        parent = stack[-1] if stack else None
        stack.append(name)
        if name == "ENTRY" and parent == "COLLECTION":
            check_count(result.entries, limits)
            track.clear()
            track["line"] = parser.CurrentLineNumber
            track.update({f"ENTRY@{k}": v for k, v in attrs.items()})
        elif track and parent == "ENTRY" and "COLLECTION" in stack:
            track.update({f"{name}@{k}": v for k, v in attrs.items()})
        elif name == "NODE":
            nodes.append(attrs.get("NAME", ""))
            if attrs.get("TYPE") == "PLAYLIST":
                current[:] = [CollectionPlaylist(tuple(nodes[1:]), 0)]
                lists.append(current[0])
        elif name == "PRIMARYKEY" and current and attrs.get("TYPE", "TRACK") == "TRACK":
            current[0].items.append((parser.CurrentLineNumber, attrs.get("KEY", "")))

    def end(name: str) -> None:
        stack.pop()
        if name == "ENTRY" and track and "COLLECTION" in stack:
            _finish_entry(dict(track), result, located, by_key, base, limits)
            track.clear()
        elif name == "NODE":
            nodes.pop()
            current.clear()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    run_xml(parser, data, result, "Traktor NML")
    _place_entries(result, located, by_key, base)
    flag_duplicates(result.entries)
    select(result, lambda _key_type, key: by_key.get(key), lists, wanted)
    return result


def _finish_entry(
    track: dict[str, Any],
    result: Playlist,
    located: list[tuple[str, str, str]],
    by_key: dict[str, PoolEntry],
    base: str | None,
    limits: Limits,
) -> None:
    line = track["line"]
    volume = track.get("LOCATION@VOLUME", "")
    directory = track.get("LOCATION@DIR", "")
    file = track.get("LOCATION@FILE", "")
    primary = volume + directory + file
    if len(primary) > limits.max_line_chars:
        result.problems.append(Problem(line, "LOCATION is too long; skipped"))
        return
    # the path waits for the whole collection: only then is the startup disk known
    entry = entry_from(line, primary, None, track, _NML_COLUMNS, base, result.problems)
    if entry is None:
        return
    _report_key_conflict(entry, result.problems)
    entry.source_id = primary or None
    if primary:
        by_key[primary] = entry
    result.entries.append(entry)
    located.append((volume, directory, file))


def _report_key_conflict(entry: PoolEntry, problems: list[Problem]) -> None:
    """Say so when the key text and Traktor's detected key disagree (the key text is used)."""
    text, detected = entry.keys.get(_KEY_TEXT), entry.keys.get(_KEY_DETECTED)
    if text is not None and detected is not None and text != detected:
        problems.append(
            Problem(
                entry.line,
                f"the key text (INFO KEY) is {text.camelot} but Traktor detected "
                f"{detected.camelot} (MUSICAL_KEY); using the key text",
            )
        )


def _place_entries(
    result: Playlist,
    located: list[tuple[str, str, str]],
    by_key: dict[str, PoolEntry],
    base: str | None,
) -> None:
    """Give every entry its path once all volumes are seen; drop entries whose path is unusable.

    ``located`` holds each entry's (VOLUME, DIR, FILE), in entry order.
    """
    startup = set(_STARTUP_NAMES)
    startup.update(volume for volume, directory, _ in located if _is_startup_evidence(directory))
    kept: list[PoolEntry] = []
    for entry, (volume, directory, file) in zip(result.entries, located, strict=True):
        if file:
            try:
                loc = normalise_location(_nml_path(volume, directory, file, startup), base)
            except ValueError as exc:
                result.problems.append(Problem(entry.line, f"{exc}; skipped"))
                by_key.pop(entry.raw, None)
                continue
            entry.path, entry.url = loc.path, loc.url
        kept.append(entry)
    result.entries = kept
    result.problems.sort(key=lambda p: (p.line is None, p.line or 0))
