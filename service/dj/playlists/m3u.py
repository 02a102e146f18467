"""M3U and extended M3U8: paths one per line, ``#EXTINF`` and the per-entry directives players write.

Besides ``#EXTINF`` (duration and ``Artist - Title``), ``#EXTART``, ``#EXTALB`` and ``#EXTGENRE``
fill what it leaves empty, and VirtualDJ's ``#EXTVDJ`` (artist, title, remix and length as separate
fields) wins over it, since it needs no guessing where the artist ends.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from service.dj.playlists.fields import check_count, split_display, unusable_line
from service.dj.playlists.model import Limits, Playlist, PoolEntry, Problem
from service.dj.playlists.paths import normalise_location
from service.dj.playlists.text import LINE_SPLIT, legacy_problem
from service.dj.values import parse_duration, parse_text

__all__ = ["parse_m3u"]

# ``#EXTINF:<seconds>[ attributes],<display>``: the first comma outside quoted attribute values ends
# the duration, so "367,4 Hero - Morning Child" is 367 s by "4 Hero" (no writer uses a decimal comma).
_EXTINF_RE = re.compile(
    r'^#EXTINF:\s*(-?\d+(?:\.\d+)?)(?:(?:[^,"]|"[^"]*")*|[^,]*)(?:,(.*))?$', re.IGNORECASE
)
# Per-entry directives some players write beside #EXTINF.
_PENDING_DIRECTIVES = {"#EXTART:": "artist", "#EXTALB:": "album", "#EXTGENRE:": "genre"}
# VirtualDJ writes ``#EXTVDJ:<artist>…</artist><title>…</title><remix>…</remix><songlength>…
# </songlength>`` (plus <filesize>, <time>, <lastplaytime>), XML-escaped, before or instead of #EXTINF.
_VDJ_TAG_RE = re.compile(r"<([a-z]+)>(.*?)</\1>", re.IGNORECASE | re.DOTALL)


@dataclass(slots=True)
class _ExtInf:
    line: int
    duration_s: float | None
    artist: str | None
    title: str | None


def _parse_extinf(text: str, line: int) -> _ExtInf | None:
    m = _EXTINF_RE.match(text)
    if m is None:
        return None
    try:
        duration = parse_duration(m[1]) if not m[1].startswith("-") else None
    except ValueError:
        duration = None
    artist, title = split_display(m[2])
    return _ExtInf(line, duration, artist, title)


def _parse_extvdj(text: str, line: int, problems: list[Problem]) -> dict[str, object]:
    """Artist, title (with the remix in brackets) and duration from an ``#EXTVDJ`` line."""
    tags = {m[1].lower(): parse_text(html.unescape(m[2])) for m in _VDJ_TAG_RE.finditer(text)}
    out: dict[str, object] = {}
    if tags.get("artist"):
        out["artist"] = tags["artist"]
    title, remix = tags.get("title"), tags.get("remix")
    if title:
        out["title"] = f"{title} ({remix})" if remix and remix not in title else title
    if tags.get("songlength"):
        try:
            out["duration_s"] = parse_duration(tags["songlength"])
        except ValueError as exc:
            problems.append(Problem(line, f"#EXTVDJ songlength: {exc}; ignored"))
    return out


def parse_m3u(text: str, encoding: str, base: str | None, limits: Limits) -> Playlist:
    """Entries of an M3U/M3U8 text, with ``#EXTINF`` duration, artist and title."""
    result = Playlist("m3u", encoding, problems=legacy_problem(encoding))
    problems = result.problems
    pending: _ExtInf | None = None
    extras: dict[str, str] = {}
    vdj: dict[str, object] = {}  # VirtualDJ's own fields win over #EXTINF's display text
    for no, line in enumerate(LINE_SPLIT.split(text), 1):
        if (problem := unusable_line(no, line, limits)) is not None:
            problems.append(problem)
            continue
        stripped = line.strip().lstrip("\ufeff")
        if not stripped:
            continue
        if stripped.startswith("#"):
            upper = stripped.upper()
            if upper.startswith("#EXTINF:"):
                if pending is not None:
                    problems.append(
                        Problem(pending.line, "#EXTINF not followed by a track; ignored")
                    )
                pending = _parse_extinf(stripped, no)
                if pending is None:
                    problems.append(Problem(no, "#EXTINF without a duration; ignored"))
            elif upper.startswith("#EXTVDJ:"):
                vdj = _parse_extvdj(stripped[8:], no, problems)
            elif upper.startswith("#PLAYLIST:"):
                result.name = parse_text(stripped[10:])
            else:
                for prefix, name in _PENDING_DIRECTIVES.items():
                    if upper.startswith(prefix):
                        value = parse_text(stripped[len(prefix) :])
                        if value:
                            extras[name] = value
            continue  # #EXTM3U, other directives and comments are not entries
        try:
            loc = normalise_location(stripped, base)
        except ValueError as exc:
            problems.append(Problem(no, f"{exc}; skipped"))
            pending, extras, vdj = None, {}, {}
            continue
        check_count(result.entries, limits)
        entry = PoolEntry(line=no, raw=line, path=loc.path, url=loc.url)
        if pending is not None:
            entry.duration_s, entry.artist, entry.title = (
                pending.duration_s,
                pending.artist,
                pending.title,
            )
        for name, value in vdj.items():
            setattr(entry, name, value)
        for name, value in extras.items():
            if getattr(entry, name) is None:
                setattr(entry, name, value)
        pending, extras, vdj = None, {}, {}
        result.entries.append(entry)
    if pending is not None:
        problems.append(Problem(pending.line, "#EXTINF not followed by a track; ignored"))
    return result
