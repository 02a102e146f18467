"""Tracks: the :class:`Track` value, and every track field declared once in :data:`FIELDS`.

Each field names where it lives in each tag format, in Directus, in Rekordbox and Traktor collections
and in CSV headers. The tag reader, the playlist/collection parsers and, later, the writers, the
Directus schema and the exports all derive from that table: adding a field or another spelling of a
tag is one line here.

Tag names are matched case-insensitively. ID3 user frames are written ``TXXX:<description>``, MP4
free-form atoms ``----:<mean>:<name>``, RIFF INFO chunks by their four-letter id. Traktor locations
are ``ELEMENT@ATTRIBUTE`` inside an ``ENTRY``. CSV aliases are compared after lower-casing and
dropping everything but letters and digits.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from typing import Any

from service.dj import values
from service.dj.keys import Key

__all__ = ["FIELDS", "FIELDS_BY_NAME", "Track", "TrackField", "csv_header_key", "fields_to_json"]


def fields_to_json(record: Any) -> dict[str, Any]:
    """A dataclass record as plain JSON, fields in declaration order; a key as ``{camelot, open_key, name}``."""
    out: dict[str, Any] = {}
    for spec in dataclass_fields(record):
        value = getattr(record, spec.name)
        if isinstance(value, Key):
            value = value.to_json()
        elif isinstance(value, Mapping):
            value = {k: v.to_json() if isinstance(v, Key) else v for k, v in value.items()}
        elif isinstance(value, list | tuple):
            value = list(value)
        out[spec.name] = value
    return out


@dataclass(frozen=True, slots=True)
class Track:
    """One track of a pool, with where each value came from.

    ``sources`` maps a field name to its origin: ``tag:<tag name>`` (e.g. ``tag:TBPM``),
    ``tag:comment`` (a Mixed In Key comment), ``playlist:<format>`` (``playlist:rekordbox``…; for a
    key the format keeps in several places, which one: ``playlist:nml:INFO@KEY``),
    ``beatport``, ``analysis`` (detected from the audio) or ``dj`` (the DJ's own correction).
    """

    id: str  # stable within a pool: the same pool file gives the same ids
    path: str | None  # normalised local path, or the URL the source gave
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    genre: str | None = None
    label: str | None = None
    isrc: str | None = None
    year: int | None = None
    bpm: float | None = None
    key: Key | None = None
    energy: int | None = None  # 1–10
    duration_s: float | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    # For values detected from the audio (source ``analysis``): the detector's confidence, 0–1.
    confidence: Mapping[str, float] = field(default_factory=dict)
    # The beat grid from the audio analysis: (tempo of the grid, first downbeat in seconds).
    beat_grid: tuple[float, float] | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON: the key as ``{camelot, open_key, name}``."""
        return fields_to_json(self)


@dataclass(frozen=True, slots=True)
class TrackField:
    """One track field and its storage in every place we read or write it."""

    name: str
    parse: Callable[[object], object]
    id3: tuple[str, ...] = ()
    vorbis: tuple[str, ...] = ()
    mp4: tuple[str, ...] = ()
    riff: tuple[str, ...] = ()
    directus: str | None = None
    rekordbox: str | None = None
    nml: tuple[str, ...] = ()
    csv: tuple[str, ...] = ()


FIELDS: tuple[TrackField, ...] = (
    TrackField(
        "title",
        values.parse_text,
        id3=("TIT2",),
        vorbis=("TITLE",),
        mp4=("©nam",),
        riff=("INAM",),
        directus="title",
        rekordbox="Name",
        nml=("ENTRY@TITLE",),
        csv=("title", "tracktitle", "name", "track", "song"),
    ),
    TrackField(
        "artist",
        values.parse_text,
        id3=("TPE1",),
        vorbis=("ARTIST",),
        mp4=("©ART",),
        riff=("IART",),
        directus="artist",
        rekordbox="Artist",
        nml=("ENTRY@ARTIST",),
        csv=("artist", "artists", "performer"),
    ),
    TrackField(
        "album",
        values.parse_text,
        id3=("TALB",),
        vorbis=("ALBUM",),
        mp4=("©alb",),
        riff=("IPRD",),
        directus="album",
        rekordbox="Album",
        nml=("ALBUM@TITLE",),
        csv=("album", "release"),
    ),
    TrackField(
        "genre",
        values.parse_text,
        id3=("TCON",),
        vorbis=("GENRE",),
        mp4=("©gen",),
        riff=("IGNR",),
        directus="genre",
        rekordbox="Genre",
        nml=("INFO@GENRE",),
        csv=("genre", "style"),
    ),
    TrackField(
        "label",
        values.parse_text,
        id3=("TPUB", "TXXX:LABEL"),
        vorbis=("LABEL", "ORGANIZATION", "PUBLISHER"),
        mp4=("----:com.apple.iTunes:LABEL", "----:com.apple.iTunes:publisher"),
        directus="label",
        rekordbox="Label",
        nml=("INFO@LABEL",),
        csv=("label", "recordlabel", "publisher"),
    ),
    TrackField(
        "isrc",
        values.parse_isrc,
        id3=("TSRC",),
        vorbis=("ISRC",),
        mp4=("----:com.apple.iTunes:ISRC",),
        # RIFF INFO's ISRC means "source"; parse_isrc refuses anything that is not a real code.
        riff=("ISRC",),
        directus="isrc",
        csv=("isrc",),
    ),
    TrackField(
        "year",
        values.parse_year,
        id3=("TDRC", "TDOR"),
        vorbis=("DATE", "YEAR", "ORIGINALDATE"),
        mp4=("©day",),
        riff=("ICRD",),
        directus="year",
        rekordbox="Year",
        nml=("INFO@RELEASE_DATE",),
        csv=("year", "date", "releasedate"),
    ),
    TrackField(
        "comment",
        values.parse_text,
        id3=("COMM",),
        vorbis=("COMMENT", "DESCRIPTION"),
        mp4=("©cmt",),
        riff=("ICMT",),
        rekordbox="Comments",
        nml=("INFO@COMMENT",),
        csv=("comment", "comments"),
    ),
    TrackField(
        "bpm",
        values.parse_bpm,
        id3=("TBPM",),
        vorbis=("BPM", "TEMPO"),
        mp4=("tmpo", "----:com.apple.iTunes:BPM"),
        directus="bpm",
        rekordbox="AverageBpm",
        nml=("TEMPO@BPM",),
        csv=("bpm", "tempo", "averagebpm"),
    ),
    TrackField(
        "key",
        values.parse_key_value,
        id3=("TKEY", "TXXX:INITIALKEY", "TXXX:KEY"),
        vorbis=("INITIALKEY", "KEY", "INITIAL_KEY"),
        mp4=("----:com.apple.iTunes:initialkey", "----:com.apple.iTunes:KEY"),
        directus="key",
        rekordbox="Tonality",
        # INFO KEY is the key text the DJ sees and edits in Traktor (and what Mixed In Key writes);
        # MUSICAL_KEY is Traktor's own detection (0–23). The text wins; the detection fills in.
        nml=("INFO@KEY", "MUSICAL_KEY@VALUE"),
        csv=("key", "initialkey", "musicalkey", "tonality", "camelot"),
    ),
    TrackField(
        "energy",
        values.parse_energy,
        id3=("TXXX:EnergyLevel", "TXXX:ENERGY"),
        vorbis=("ENERGYLEVEL", "ENERGY"),
        mp4=("----:com.apple.iTunes:EnergyLevel", "----:com.apple.iTunes:ENERGY"),
        directus="energy",
        csv=("energy", "energylevel"),
    ),
    TrackField(
        "duration_s",
        values.parse_duration,
        directus="duration_s",
        rekordbox="TotalTime",
        nml=("INFO@PLAYTIME_FLOAT", "INFO@PLAYTIME"),
        csv=("duration", "durations", "length", "time", "totaltime", "playtime"),
    ),
    TrackField(
        "location",
        values.parse_text,
        directus="path",
        rekordbox="Location",
        csv=("path", "location", "file", "filename", "filepath", "url", "uri"),
    ),
)

FIELDS_BY_NAME: dict[str, TrackField] = {f.name: f for f in FIELDS}

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def csv_header_key(header: str) -> str:
    """The form CSV headers and aliases are compared in: lower case, letters and digits only."""
    return _NOT_ALNUM.sub("", header.strip().lower())
