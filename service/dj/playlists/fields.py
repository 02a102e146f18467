"""Filling an entry's fields from what a format wrote, through the one field table."""

from __future__ import annotations

import re

from service.dj.keys import Key
from service.dj.playlists.model import Limits, PoolEntry, PoolError, Problem
from service.dj.playlists.paths import normalise_location
from service.dj.tracks import TrackField
from service.dj.values import parse_mik_comment, parse_text

__all__ = [
    "check_count",
    "entry_from",
    "fill_from_comment",
    "parse_field",
    "set_field",
    "split_display",
    "unusable_line",
]


def unusable_line(no: int, text: str, limits: Limits, what: str = "line") -> Problem | None:
    """The problem with a line too long or holding a NUL byte (it is skipped), else None."""
    if len(text) > limits.max_line_chars:
        return Problem(
            no,
            f"{what} is {len(text):,} characters long (limit {limits.max_line_chars:,}); skipped",
        )
    if "\x00" in text:
        return Problem(no, f"{what} contains a NUL byte; skipped")
    return None


def parse_field(
    entry: PoolEntry, f: TrackField, raw: object, label: str, problems: list[Problem]
) -> object | None:
    """``raw`` parsed as field ``f``, or None; an unusable value becomes a problem."""
    try:
        return f.parse(raw)
    except ValueError as exc:
        problems.append(Problem(entry.line, f"{label}: {exc}; ignored"))
        return None


def set_field(
    entry: PoolEntry, f: TrackField, raw: object, label: str, problems: list[Problem]
) -> None:
    """Parse ``raw`` as field ``f`` into ``entry``; an unusable value becomes a problem."""
    value = parse_field(entry, f, raw, label, problems)
    if value is not None:
        setattr(entry, f.name, value)


def fill_from_comment(entry: PoolEntry) -> None:
    """Key and energy from a Mixed In Key comment, where the format gave none."""
    if entry.comment is not None and (entry.key is None or entry.energy is None):
        key, energy = parse_mik_comment(entry.comment)
        entry.key = entry.key or key
        entry.energy = entry.energy if entry.energy is not None else energy


_ARTIST_TITLE_RE = re.compile(r"\s+[-–—]\s+")


def split_display(display: object) -> tuple[str | None, str | None]:
    """(artist, title) from a player's ``Artist - Title`` text; without a dash it is all title."""
    text = parse_text(display)
    if text is None:
        return None, None
    parts = _ARTIST_TITLE_RE.split(text, maxsplit=1)
    if len(parts) == 2 and parts[0] and parts[1]:
        return parts[0].strip(), parts[1].strip()
    return None, text


def check_count(entries: list[PoolEntry], limits: Limits) -> None:
    """Refuse a playlist once it holds more entries than the limit."""
    if len(entries) >= limits.max_entries:
        raise PoolError(f"more than {limits.max_entries:,} entries; split the playlist")


def entry_from(
    line: int,
    raw: str,
    location: str | None,
    values: dict[str, str],
    columns: list[tuple[TrackField, str]],
    base: str | None,
    problems: list[Problem],
) -> PoolEntry | None:
    """Build an entry from attribute values; None (with a problem) when the location is unusable."""
    entry = PoolEntry(line=line, raw=raw)
    if location:
        try:
            loc = normalise_location(location, base)
        except ValueError as exc:
            problems.append(Problem(line, f"{exc}; skipped"))
            return None
        entry.path, entry.url = loc.path, loc.url
    key_spots = sum(1 for f, _ in columns if f.name == "key")
    for f, label in columns:
        raw_value = values.get(label)
        if raw_value in (None, ""):
            continue
        if f.name == "key" and key_spots > 1:  # keep every spot's key; the first one is used
            key = parse_field(entry, f, raw_value, label, problems)
            if isinstance(key, Key):
                entry.keys[label] = key
                entry.key = entry.key or key
        elif getattr(entry, f.name) is None:  # else an earlier source already gave a value
            set_field(entry, f, raw_value, label, problems)
    fill_from_comment(entry)
    return entry
