"""Sounds DJ software ships or records for its sampler: in a collection, but not tracks for a set.

Rekordbox lists its sampler one-shots and loops in the collection (``…/PioneerDJ/Sampler/…``, and
``…/OSC_SAMPLER/…`` when imported from a device); Traktor lists its factory sounds
(``…/Native Instruments/Traktor …/Factory Sounds/…``). A set built from them would open with a
five-second horn, so pools leave them out and say how many, and where.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from typing import TypeVar

from service.dj.playlists.model import Problem

__all__ = ["leave_out_samplers", "sampler_kind"]

T = TypeVar("T")

_REKORDBOX = "Rekordbox sampler sound"
_TRAKTOR = "Traktor factory sound"
_SHOWN_LINES = 5
_HINT_RE = re.compile(r"sampler|factory sounds", re.IGNORECASE)


def _parts(path: str) -> list[str]:
    folded = unicodedata.normalize("NFC", path.replace("\\", "/")).casefold()
    return [p for p in folded.split("/") if p]


def sampler_kind(path: str | None) -> str | None:
    """``Rekordbox sampler sound`` or ``Traktor factory sound`` when ``path`` is one, else None."""
    if not path or not _HINT_RE.search(path):  # most paths: one cheap search, no splitting
        return None
    parts = _parts(path)[:-1]  # folders only: a track may well be called "Sampler.mp3"
    if "osc_sampler" in parts:
        return _REKORDBOX
    for i, part in enumerate(parts):
        if part == "pioneerdj" and parts[i + 1 : i + 2] == ["sampler"]:
            return _REKORDBOX
        if part == "factory sounds" and "native instruments" in parts[:i]:
            return _TRAKTOR
    return None


def leave_out_samplers(
    items: Sequence[T], path_of: Callable[[T], str | None], line_of: Callable[[T], int | None]
) -> tuple[list[T], list[Problem]]:
    """``items`` without sampler sounds, and one problem per kind saying how many and where."""
    kept: list[T] = []
    left_out: dict[str, list[T]] = {}
    for item in items:
        kind = sampler_kind(path_of(item))
        if kind is None:
            kept.append(item)
        else:
            left_out.setdefault(kind, []).append(item)
    problems = []
    for kind, found in left_out.items():
        lines = [line for line in map(line_of, found) if line is not None]
        if lines:
            shown = ", ".join(map(str, lines[:_SHOWN_LINES]))
            more = ", …" if len(lines) > _SHOWN_LINES else ""
            where = f"line{'s' if len(lines) > 1 else ''} {shown}{more}"
        else:
            where = f"e.g. {path_of(found[0])}"
        noun = kind + ("s" if len(found) > 1 else "")
        problems.append(
            Problem(
                None,
                f"left out {len(found)} {noun} ({where}): sounds for the sampler, "
                "not tracks for a set",
            )
        )
    return kept, problems
