"""PLS playlists (Winamp, foobar2000, VLC, internet radio): an INI ``[playlist]`` section.

``FileN`` is the N-th entry's location, ``TitleN`` its display text (``Artist - Title``), ``LengthN``
its length in seconds (``-1`` for a stream or unknown); ``NumberOfEntries`` and ``Version=2`` close
the section. Keys are case-insensitive. Entries are kept in the order of N, each at the line of its
``FileN``. A ``TitleN`` or ``LengthN`` without a ``FileN``, a number given twice, a line that is not
``key=value`` and a count that does not match are reported; the rest is kept.
"""

from __future__ import annotations

import re

from service.dj.playlists.fields import check_count, split_display, unusable_line
from service.dj.playlists.model import Limits, Playlist, PoolEntry, PoolError, Problem
from service.dj.playlists.paths import normalise_location
from service.dj.playlists.text import LINE_SPLIT, legacy_problem
from service.dj.values import parse_duration

__all__ = ["looks_like_pls", "parse_pls"]

_ENTRY_KEY_RE = re.compile(r"^(file|title|length)(\d+)$")
_SECTION_RE = re.compile(r"^\[([^\]]*)\]$")


def looks_like_pls(text: str) -> bool:
    """Whether the first line that is not blank is the ``[playlist]`` section header."""
    first = next((ln for ln in LINE_SPLIT.split(text.lstrip("\ufeff")) if ln.strip()), "")
    return first.strip().casefold() == "[playlist]"


def parse_pls(text: str, encoding: str, base: str | None, limits: Limits) -> Playlist:
    """Entries of a PLS file in the order of their numbers."""
    result = Playlist("pls", encoding, problems=legacy_problem(encoding))
    problems = result.problems
    slots: dict[int, dict[str, tuple[int, str]]] = {}  # N -> {file|title|length: (line, value)}
    declared: tuple[int, str] | None = None
    in_playlist = False
    for no, line in enumerate(LINE_SPLIT.split(text.lstrip("\ufeff")), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith((";", "#")):
            continue
        if (problem := unusable_line(no, line, limits)) is not None:
            problems.append(problem)
            continue
        if m := _SECTION_RE.match(stripped):
            in_playlist = m[1].strip().casefold() == "playlist"
            if not in_playlist:
                problems.append(
                    Problem(no, f"section [{m[1]}] is not [playlist]; its lines skipped")
                )
            continue
        if not in_playlist:
            continue
        name, sep, value = stripped.partition("=")
        key = name.strip().casefold()
        if not sep:
            problems.append(Problem(no, f"{stripped!r} is not a key=value line; skipped"))
            continue
        if m := _ENTRY_KEY_RE.match(key):
            number = int(m[2])
            slot = slots.setdefault(number, {})
            if m[1] in slot:
                first = slot[m[1]][0]
                problems.append(Problem(no, f"{name.strip()} also on line {first}; skipped"))
                continue
            slot[m[1]] = (no, value.strip())
        elif key == "numberofentries":
            declared = (no, value.strip())
        elif key != "version":
            problems.append(Problem(no, f"{name.strip()!r} is not a PLS key; ignored"))
    if not slots and declared is None:
        raise PoolError("the PLS file has no [playlist] entries")
    for number in sorted(slots):
        slot = slots[number]
        if "file" not in slot:
            for kind, (line, _) in slot.items():
                problems.append(
                    Problem(line, f"{kind.title()}{number} has no File{number}; ignored")
                )
            continue
        entry = _entry(number, slot, base, problems)
        if entry is not None:
            check_count(result.entries, limits)
            result.entries.append(entry)
    files = sum(1 for slot in slots.values() if "file" in slot)
    if declared is not None and declared[1] != str(files):
        problems.append(
            Problem(declared[0], f"NumberOfEntries says {declared[1]} but the file lists {files}")
        )
    problems.sort(key=lambda p: (p.line is not None, p.line or 0))  # file-wide notes first
    return result


def _entry(
    number: int, slot: dict[str, tuple[int, str]], base: str | None, problems: list[Problem]
) -> PoolEntry | None:
    line, location = slot["file"]
    try:
        loc = normalise_location(location, base)
    except ValueError as exc:
        problems.append(Problem(line, f"File{number}: {exc}; skipped"))
        return None
    entry = PoolEntry(line=line, raw=location, path=loc.path, url=loc.url)
    if "title" in slot:
        entry.artist, entry.title = split_display(slot["title"][1])
    if "length" in slot:
        length_line, length = slot["length"]
        try:
            entry.duration_s = None if length.startswith("-") else parse_duration(length)
        except ValueError as exc:
            problems.append(Problem(length_line, f"Length{number}: {exc}; ignored"))
    return entry
