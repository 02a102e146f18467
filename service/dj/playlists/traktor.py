"""Traktor NML collections: ``COLLECTION/ENTRY`` elements and ``PLAYLISTS`` nodes.

Field spots come from the field table (``TrackField.nml``, ``ELEMENT@ATTRIBUTE``). A location is
``LOCATION VOLUME DIR FILE`` with ``DIR="/:Users/:dj/:"``; playlists name tracks by
``VOLUME + DIR + FILE`` (``PRIMARYKEY KEY``).
"""

from __future__ import annotations

import re
from typing import Any

from service.dj.playlists.collection import run_xml, select, xml_parser
from service.dj.playlists.fields import check_count, entry_from
from service.dj.playlists.model import Limits, Playlist, PoolEntry, Problem
from service.dj.playlists.paths import flag_duplicates
from service.dj.tracks import FIELDS

__all__ = ["parse_nml"]

_NML_COLUMNS = [(f, spot) for f in FIELDS for spot in f.nml]


def _nml_path(volume: str, directory: str, file: str) -> str:
    """Traktor writes ``DIR="/:Users/:dj/:"``; Windows volumes are drive letters (``C:``)."""
    path = directory.replace("/:", "/") + file
    if re.match(r"^[A-Za-z]:$", volume):
        return volume + path
    return path


def parse_nml(data: bytes, base: str, wanted: str | None, limits: Limits) -> Playlist:
    """The collection's entries, or the entries of playlist ``wanted``, and the playlists inside."""
    result = Playlist("nml", "utf-8")
    parser = xml_parser(result)
    stack: list[str] = []
    by_key: dict[str, PoolEntry] = {}
    nodes: list[str] = []
    lists: list[tuple[str, int, list[tuple[int, str]]]] = []
    current: list[Any] = []
    track: dict[str, Any] = {}

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
                path = "/".join(n for n in nodes if n != "$ROOT")
                current[:] = [path, 0, []]
                lists.append((current[0], 0, current[2]))
        elif name == "PRIMARYKEY" and current and attrs.get("TYPE", "TRACK") == "TRACK":
            current[2].append((parser.CurrentLineNumber, attrs.get("KEY", "")))

    def end(name: str) -> None:
        stack.pop()
        if name == "ENTRY" and track and "COLLECTION" in stack:
            _finish_entry(dict(track), result, by_key, base, limits)
            track.clear()
        elif name == "NODE":
            nodes.pop()
            current.clear()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    run_xml(parser, data, result, "Traktor NML")
    flag_duplicates(result.entries)
    select(result, lambda _key_type, key: by_key.get(key), lists, wanted)
    return result


def _finish_entry(
    track: dict[str, Any], result: Playlist, by_key: dict[str, PoolEntry], base: str, limits: Limits
) -> None:
    line = track["line"]
    volume = track.get("LOCATION@VOLUME", "")
    directory = track.get("LOCATION@DIR", "")
    file = track.get("LOCATION@FILE", "")
    primary = volume + directory + file
    if len(primary) > limits.max_line_chars:
        result.problems.append(Problem(line, "LOCATION is too long; skipped"))
        return
    location = _nml_path(volume, directory, file) if file else None
    entry = entry_from(line, primary, location, track, _NML_COLUMNS, base, result.problems)
    if entry is None:
        return
    entry.source_id = primary or None
    if primary:
        by_key[primary] = entry
    result.entries.append(entry)
