"""What the two XML collection formats share: a safe XML parser, and choosing one playlist inside."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from xml.parsers import expat

from service.dj.playlists.model import Playlist, PoolEntry, PoolError, Problem
from service.dj.playlists.paths import flag_duplicates

__all__ = ["run_xml", "select", "xml_parser"]


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


def select(
    result: Playlist,
    lookup: Callable[[int, str], PoolEntry | None],
    lists: list[tuple[str, int, list[tuple[int, str]]]],
    wanted: str | None,
) -> None:
    """Report the playlists inside a collection; with ``wanted``, keep only that one's entries."""
    result.playlists = [
        {"name": path.rsplit("/", 1)[-1], "path": path, "entries": len(items)}
        for path, _, items in lists
    ]
    if wanted is None:
        return
    match = [item for item in lists if wanted in (item[0], item[0].rsplit("/", 1)[-1])]
    if not match:
        names = ", ".join(p["path"] for p in result.playlists) or "none"
        raise PoolError(f"no playlist named {wanted!r} in the collection (playlists: {names})")
    path, key_type, items = match[0]
    result.name = path.rsplit("/", 1)[-1]
    entries: list[PoolEntry] = []
    for line, key in items:
        track = lookup(key_type, key)
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
