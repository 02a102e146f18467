"""Match playlist entries to the audio files a DJ uploaded beside the playlist.

Three passes, each only over what is still unmatched: the path (the uploaded name's folders and file
name end the entry's path), the file name alone (ties broken by the longest shared folder suffix), then
artist + title (the entry's ``#EXTINF``/collection text against the file's tags). Entries naming the
same location share one file; otherwise a file is used once. Comparisons ignore case, Unicode
normalisation form (macOS writes NFD) and, for artist/title, accents and punctuation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field

from service.dj.playlists import PoolEntry, Problem, location_key

__all__ = ["FileRef", "Match", "MatchResult", "identity_text", "match_entries"]


@dataclass(frozen=True, slots=True)
class FileRef:
    """An uploaded audio file: its id, the name (or relative path) it was uploaded as, its tags."""

    id: str
    name: str
    artist: str | None = None
    title: str | None = None


@dataclass(frozen=True, slots=True)
class Match:
    """Entry ``index`` (its ``line``) is file ``file_id``, found by ``method``."""

    index: int
    line: int | None
    file_id: str
    method: str  # "path", "filename" or "artist+title"


@dataclass(slots=True)
class MatchResult:
    """Matches in entry order, plus what stayed unmatched on either side."""

    matches: list[Match] = field(default_factory=list)
    unmatched_entries: list[int] = field(default_factory=list)  # entry indices
    unmatched_files: list[str] = field(default_factory=list)  # file ids

    def problems(self, entries: Sequence[PoolEntry]) -> list[Problem]:
        """One problem per unmatched entry, for the playlist's report."""
        return [
            Problem(entries[i].line, "no uploaded file matches this entry")
            for i in self.unmatched_entries
        ]


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def _parts(path: str) -> list[str]:
    # "../Music/x.mp3" names Music/x.mp3 somewhere above the playlist: ".." matches no folder
    return [p for p in _fold(path.replace("\\", "/")).split("/") if p not in ("", ".", "..")]


_NOT_WORD = re.compile(r"[^0-9a-z]+")


def identity_text(text: str | None) -> str:
    """Artist or title folded for comparison: case, accents and punctuation ignored."""
    if not text:
        return ""
    plain = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in plain if not unicodedata.combining(c)).replace("&", " and ")
    return _NOT_WORD.sub("", plain)


def _common_suffix(a: list[str], b: list[str]) -> int:
    n = 0
    while n < len(a) and n < len(b) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def match_entries(entries: Sequence[PoolEntry], files: Sequence[FileRef]) -> MatchResult:
    """Pair each entry with an uploaded file where one fits; report the rest on both sides."""
    groups: dict[str, list[int]] = {}
    for i, entry in enumerate(entries):
        groups.setdefault(location_key(entry) or f"#{i}", []).append(i)
    leaders = [members[0] for members in groups.values()]
    file_parts = [_parts(f.name) for f in files]
    used: set[int] = set()
    found: dict[int, tuple[int, str]] = {}  # leader entry index -> (file index, method)

    by_path: dict[tuple[str, ...], list[int]] = {}
    by_name: dict[str, list[int]] = {}
    by_words: dict[str, list[int]] = {}
    for fi, (f, parts) in enumerate(zip(files, file_parts, strict=True)):
        if parts:
            by_path.setdefault(tuple(parts), []).append(fi)
            by_name.setdefault(parts[-1], []).append(fi)
        if f.artist and f.title:
            by_words.setdefault(
                identity_text(f.artist) + "\x1f" + identity_text(f.title), []
            ).append(fi)

    def free(candidates: list[int]) -> list[int]:
        return [fi for fi in candidates if fi not in used]

    # 1. the uploaded name, folders included, ends the entry's path (longest suffix first)
    for i in leaders:
        parts = _parts(entries[i].path or "")
        for start in range(len(parts) - 1):  # suffixes of two components or more
            hits = free(by_path.get(tuple(parts[start:]), []))
            if hits:
                found[i] = (hits[0], "path")
                used.add(hits[0])
                break
    # 2. the file name alone; several candidates: the one sharing the most folders
    for i in leaders:
        if i in found or not entries[i].path:
            continue
        parts = _parts(entries[i].path or "")
        hits = free(by_name.get(parts[-1], [])) if parts else []
        if hits:
            best = max(hits, key=lambda fi: (_common_suffix(parts, file_parts[fi]), -fi))
            found[i] = (best, "filename")
            used.add(best)
    # 3. artist + title against the files' tags
    for i in leaders:
        entry = entries[i]
        if i in found or not (entry.artist and entry.title):
            continue
        hits = free(
            by_words.get(identity_text(entry.artist) + "\x1f" + identity_text(entry.title), [])
        )
        if hits:
            found[i] = (hits[0], "artist+title")
            used.add(hits[0])

    result = MatchResult()
    for members in groups.values():
        hit = found.get(members[0])
        for i in members:
            if hit is None:
                result.unmatched_entries.append(i)
            else:
                result.matches.append(Match(i, entries[i].line, files[hit[0]].id, hit[1]))
    result.matches.sort(key=lambda m: m.index)
    result.unmatched_entries.sort()
    result.unmatched_files = [f.id for fi, f in enumerate(files) if fi not in used]
    return result
