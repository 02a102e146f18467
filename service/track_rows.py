"""Track rows in Directus ↔ :class:`Track` values, via the one field table (``FIELDS[*].directus``).

Below both the jobs that write track rows and the site that reads them, so neither imports the other.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from service.dj.keys import Key, KeyParseError, parse_key
from service.dj.tracks import FIELDS, Track

log = logging.getLogger(__name__)

# Our field name → Directus field, for every field the table stores in Directus.
DIRECTUS_FIELDS: dict[str, str] = {f.name: f.directus for f in FIELDS if f.directus}
# Values a track row carries besides the table's fields.
TRACK_ROW_FIELDS = ("id", "owner", "file", "file_hash", "format", "bitrate", "sample_rate",
                    "sources", "analysis", *DIRECTUS_FIELDS.values())  # fmt: skip
# Values the audio analysis may fill; each has its confidence as ``<name>_confidence`` in ``analysis``.
ANALYSED_FIELDS = ("bpm", "key", "energy")


def to_directus_value(name: str, value: Any) -> Any:
    """A track value as Directus stores it (keys in Camelot notation)."""
    if isinstance(value, Key):
        return value.camelot
    return value


def track_from_item(item: Mapping[str, Any]) -> Track:
    """A :class:`Track` from a ``tracks`` row; an unreadable stored key is dropped with a warning."""
    values: dict[str, Any] = {}
    for name, column in DIRECTUS_FIELDS.items():
        if name == "location":
            continue
        value = item.get(column)
        if name == "key" and value:
            try:
                value = parse_key(value)
            except KeyParseError:
                log.warning("track %s has an unreadable key %r", item.get("id"), value)
                value = None
        values[name] = value
    sources = dict(item.get("sources") or {})
    analysis = item.get("analysis") if isinstance(item.get("analysis"), Mapping) else {}
    confidence = {
        name: float(analysis[f"{name}_confidence"])
        for name in ANALYSED_FIELDS
        if sources.get(name) == "analysis"
        and isinstance(analysis.get(f"{name}_confidence"), int | float)
    }
    grid = None
    if not analysis.get("error") and all(
        isinstance(analysis.get(k), int | float) for k in ("bpm", "first_beat_s")
    ):
        grid = (float(analysis["bpm"]), float(analysis["first_beat_s"]))
    return Track(
        id=str(item["id"]),
        path=item.get("path"),
        sources=sources,
        confidence=confidence,
        beat_grid=grid,
        **values,
    )
