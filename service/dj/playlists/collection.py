"""What the two XML collection formats share: a safe XML parser, and choosing one playlist inside."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from service.dj.playlists.model import Playlist, PoolEntry, PoolError, Problem
from service.dj.playlists.paths import flag_duplicates

__all__ = ["CollectionPlaylist", "choose", "run_xml", "select", "xml_parser"]


def xml_parser(result: Playlist) -> Any:
    """An expat parser that refuses DTDs and entities (no entity expansion, no external fetches)."""
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def refuse(*_: object) -> None:
        raise PoolError("XML with a DOCTYPE or entities is not accepted (DJ exports have none)")

    def xml_decl(_version: str, encoding: str | None, _standalone: int) -> None:
        result.encoding = (encoding or "utf-8").lower()

    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.XmlDeclHandler = xml_decl
    return parser


def run_xml(parser: Any, data: bytes, result: Playlist, what: str) -> None:
    """Feed ``data`` to ``parser``; broken XML after some entries keeps them with a problem."""
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        if not result.entries:
            raise PoolError(f"not a readable {what}: {exc}") from None
        result.problems.append(
            Problem(
                exc.lineno,
                f"the XML is broken here ({expat.ErrorString(exc.code)}); the rest is skipped",
            )
        )


@dataclass(slots=True)
class CollectionPlaylist:
    """A playlist inside a collection: its folders and name as written, and the tracks it names."""

    names: tuple[str, ...]  # folders, then the playlist's own name; any of them may hold a "/"
    key_type: int  # how ``items`` name tracks (Rekordbox: 0 by TrackID, 1 by Location)
    items: list[tuple[int, str]] = field(default_factory=list)  # (line, track key)

    @property
    def name(self) -> str:
        """The playlist's own name."""
        return self.names[-1]

    @property
    def path(self) -> str:
        """Folders and name joined by ``/`` (what ``--playlist`` also accepts)."""
        return "/".join(self.names)


def _shown(found: CollectionPlaylist) -> str:
    return repr(found.path)  # what --playlist accepts, quoted: names may hold spaces and commas


def choose(lists: list[CollectionPlaylist], wanted: str) -> CollectionPlaylist:
    """The playlist ``wanted`` names: its full path (``Folder/Name``), else its name alone.

    A name with ``/`` in it (Traktor names history playlists ``3/23/2017``) is matched whole. No
    match, or several, is a :class:`PoolError` listing the candidates.
    """
    candidates = [p for p in lists if p.path == wanted] or [p for p in lists if p.name == wanted]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        names = ", ".join(_shown(p) for p in lists) or "none"
        raise PoolError(f"no playlist named {wanted!r} in the collection (playlists: {names})")
    shown = [_shown(p) for p in candidates]
    if len(set(shown)) < len(shown):
        raise PoolError(
            f"{len(candidates)} playlists are named {wanted!r} in the same folder "
            f"({', '.join(shown)}); rename one in your DJ software"
        )
    raise PoolError(
        f"{len(candidates)} playlists are named {wanted!r}: {', '.join(shown)}; "
        "give the folder too (Folder/Name)"
    )


def select(
    result: Playlist,
    lookup: Callable[[int, str], PoolEntry | None],
    lists: list[CollectionPlaylist],
    wanted: str | None,
) -> None:
    """Report the playlists inside a collection; with ``wanted``, keep only that one's entries."""
    result.playlists = [{"name": p.name, "path": p.path, "entries": len(p.items)} for p in lists]
    if wanted is None:
        return
    chosen = choose(lists, wanted)
    result.name = chosen.name
    entries: list[PoolEntry] = []
    for line, key in chosen.items:
        track = lookup(chosen.key_type, key)
        if track is None:
            result.problems.append(
                Problem(
                    line, f"playlist names track {key!r}, which is not in the collection; skipped"
                )
            )
            continue
        copy = PoolEntry(**{name: getattr(track, name) for name in PoolEntry.__slots__})
        copy.line, copy.duplicate_of = line, None
        entries.append(copy)
    flag_duplicates(entries)
    result.entries = entries
