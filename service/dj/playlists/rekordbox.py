"""Rekordbox XML collections: ``COLLECTION/TRACK`` attributes and ``PLAYLISTS`` nodes.

Attribute names come from the field table (``TrackField.rekordbox``); ``Location`` is a
``file://localhost/…`` URL. A playlist node with ``KeyType="0"`` lists tracks by ``TrackID``,
``KeyType="1"`` by ``Location``.
"""

from __future__ import annotations

from service.dj.playlists.collection import CollectionPlaylist, run_xml, select, xml_parser
from service.dj.playlists.fields import check_count, entry_from
from service.dj.playlists.model import Limits, Playlist, PoolEntry, Problem
from service.dj.playlists.paths import flag_duplicates
from service.dj.tracks import FIELDS

__all__ = ["parse_rekordbox"]

_RB_COLUMNS = [(f, f.rekordbox) for f in FIELDS if f.rekordbox and f.name != "location"]


def parse_rekordbox(data: bytes, base: str | None, wanted: str | None, limits: Limits) -> Playlist:
    """The collection's tracks, or the entries of playlist ``wanted``, and the playlists inside."""
    result = Playlist("rekordbox", "utf-8")
    parser = xml_parser(result)
    stack: list[str] = []
    by_id: dict[str, PoolEntry] = {}
    by_location: dict[str, PoolEntry] = {}
    nodes: list[str] = []  # names of the open NODEs, the ROOT node first
    lists: list[CollectionPlaylist] = []
    current: list[CollectionPlaylist] = []  # the playlist being read, if any

    def start(name: str, attrs: dict[str, str]) -> None:
        parent = stack[-1] if stack else None
        stack.append(name)
        line = parser.CurrentLineNumber
        if name == "TRACK" and parent == "COLLECTION":
            check_count(result.entries, limits)
            location = attrs.get("Location")
            if location is not None and len(location) > limits.max_line_chars:
                result.problems.append(Problem(line, "Location is too long; skipped"))
                return
            entry = entry_from(
                line, location or "", location, attrs, _RB_COLUMNS, base, result.problems
            )
            if entry is None:
                return
            entry.source_id = attrs.get("TrackID")
            if entry.source_id:
                by_id[entry.source_id] = entry
            if location:
                by_location[location] = entry
            result.entries.append(entry)
        elif name == "NODE":
            nodes.append(attrs.get("Name", ""))
            if attrs.get("Type") == "1":
                key_type = int(attrs.get("KeyType", "0") or 0)
                current[:] = [CollectionPlaylist(tuple(nodes[1:]), key_type)]
                lists.append(current[0])
        elif name == "TRACK" and parent == "NODE" and current:
            current[0].items.append((line, attrs.get("Key", "")))

    def end(name: str) -> None:
        stack.pop()
        if name == "NODE":
            nodes.pop()
            current.clear()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    run_xml(parser, data, result, "Rekordbox XML")
    flag_duplicates(result.entries)
    # KeyType 0 lists tracks by TrackID, 1 by Location.
    select(
        result,
        lambda key_type, key: (by_location if key_type == 1 else by_id).get(key),
        lists,
        wanted,
    )
    return result
