"""Exports of a planned set for the DJs' own software: M3U8, Rekordbox XML, Traktor NML, CSV, JSON.

Which track field goes to which attribute comes from the field table in :mod:`service.dj.tracks`
(``TrackField.rekordbox``, ``.nml``, ``.csv``); this module only knows how each format is laid out
(see FACTS.md) and how to write paths in it:

- Rekordbox: ``Location="file://localhost/…"``, percent-encoded UTF-8; Windows drives as
  ``file://localhost/C:/…``.
- Traktor: ``LOCATION VOLUME DIR FILE`` with ``DIR="/:Users/:dj/:"``; the playlist refers to each
  track by ``VOLUME + DIR + FILE``. Windows paths take the drive (``C:``) as volume; macOS paths
  under ``/Volumes/NAME`` take NAME, other absolute paths the startup volume name.
- M3U8: absolute paths as given, or relative to the playlist's folder when asked and possible.
- Serato crate (binary): tag-length-value records (4 ASCII bytes, a big-endian u32 length, then
  UTF-16BE text or nested records): ``vrsn`` "1.0/Serato ScratchLive Crate", the sort (``osrt``) and
  column (``ovct``) records, then one ``otrk`` holding a ``ptrk`` path per track, in play order. The
  path is relative to its drive's root (``Users/dj/x.mp3``), since a crate lives on that drive; the
  crate goes in ``_Serato_/Subcrates/<name>.crate`` there.

Every writer returns text, which callers write as UTF-8, except the Serato crate (bytes).

A playlist of bare or relative names (``x.wav``, ``../Music/x.wav``: phones, web tools, our own
upload form) says nothing about where the files are on the DJ's computer. With the DJ's music folder
for the computer the export is for (``music_folder``), :func:`locate` places such a name under it:
leading ``./`` and ``../`` are dropped, and so is a first folder named like the music folder itself
(``../Music/House/x.wav`` under ``/Users/dj/Music`` is ``/Users/dj/Music/House/x.wav``). Without
one the name is written as it came and :func:`needs_relocating` says so, for the set page to list.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import ntpath
import posixpath
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote
from xml.etree import ElementTree as ET

from service.dj.scorecard import Scorecard
from service.dj.tracks import FIELDS, Track

__all__ = [
    "EXPORT_FORMATS",
    "MUSIC_FOLDER_SYSTEMS",
    "check_music_folder",
    "export_set",
    "folder_system",
    "is_absolute_location",
    "locate",
    "needs_relocating",
    "nml_location",
    "rekordbox_location",
    "serato_path",
    "set_json",
    "spreadsheet_safe",
    "spreadsheet_text",
    "to_csv",
    "to_m3u8",
    "to_nml",
    "to_rekordbox",
    "to_serato_crate",
]

EXPORT_FORMATS = ("m3u8", "rekordbox", "nml", "csv", "json", "serato")
#: Volume name Traktor on macOS uses for the startup disk.
DEFAULT_MAC_VOLUME = "Macintosh HD"
PRODUCT = "AIDJSets"
VERSION = "0.1.0"

_WINDOWS_PATH = re.compile(r"^(?:[A-Za-z]:[\\/]|\\\\)")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


def _is_windows(path: str) -> bool:
    return bool(_WINDOWS_PATH.match(path))


#: The computers a DJ can name a music folder for, by the path shape each uses.
MUSIC_FOLDER_SYSTEMS = ("macos", "windows")
_SEGMENTS = re.compile(r"[\\/]+")


def is_absolute_location(path: str | None) -> bool:
    """True for a path or URL that says where a file is (``/…``, ``C:\\…``, ``\\\\server``, ``file://…``)."""
    return bool(path) and bool(_URL.match(path) or _is_windows(path) or path.startswith("/"))


def needs_relocating(path: str | None) -> bool:
    """True when DJ software cannot find the file from this location alone (bare or relative)."""
    return not is_absolute_location(path)


def folder_system(folder: str) -> str | None:
    """``windows`` or ``macos`` for an absolute folder by its shape; None for anything else."""
    if _is_windows(folder):
        return "windows"
    if folder.startswith("/") and not folder.startswith("//"):
        return "macos"
    return None


MUSIC_FOLDER_MAX = 500


def check_music_folder(text: str, system: str | None = None) -> str | None:
    """A DJ's music folder as typed, checked: absolute, of ``system``'s shape; None when empty.

    Raises ValueError with a sentence a DJ can act on.
    """
    folder = text.strip()
    if not folder:
        return None
    if len(folder) > MUSIC_FOLDER_MAX or any(ord(c) < 32 for c in folder):
        raise ValueError(f"A music folder is one line of at most {MUSIC_FOLDER_MAX} characters.")
    shape = folder_system(folder)
    if shape is None:
        raise ValueError(
            f"{folder} is not a full path: write it from the top, like /Users/you/Music on a Mac "
            r"or C:\Users\you\Music on Windows."
        )
    if system is not None and shape != system:
        example = "/Users/you/Music" if system == "macos" else r"C:\Users\you\Music"
        raise ValueError(f"{folder} is not a {_SYSTEM_NAMES[system]} path (like {example}).")
    return folder


_SYSTEM_NAMES = {"macos": "macOS", "windows": "Windows"}


def locate(path: str | None, music_folder: str | None) -> str | None:
    """An absolute location for a track: its own if it has one, else its name under ``music_folder``."""
    if not path or is_absolute_location(path) or not music_folder:
        return path
    parts = [p for p in _SEGMENTS.split(path) if p and p != "."]
    while parts and parts[0] == "..":
        parts.pop(0)
    parts = [p for p in parts if p != ".."] or [path]
    windows = _is_windows(music_folder)
    sep = "\\" if windows else "/"
    folder = (music_folder.replace("/", sep) if windows else music_folder).rstrip("\\/")
    last = _SEGMENTS.split(folder)[-1]
    if len(parts) > 1 and last and parts[0].casefold() == last.casefold():
        parts = parts[1:]
    return folder + sep + sep.join(parts)


def _placed(tracks: Sequence[Track], music_folder: str | None) -> list[Track]:
    if not music_folder:
        return list(tracks)
    return [dataclasses.replace(t, path=locate(t.path, music_folder)) for t in tracks]


def _field_value(track: Track, name: str) -> Any:
    if name == "location":
        return track.path
    return getattr(track, name, None)


def _text(name: str, value: Any, style: str) -> str | None:
    """A field value as text for an export attribute (``style``: rekordbox, nml_key_text, csv)."""
    if value is None:
        return None
    if name == "bpm":
        return f"{float(value):.2f}"
    if name == "duration_s":
        return str(round(float(value)))
    if name == "key":
        return value.name if style == "rekordbox" else value.camelot
    return str(value)


def rekordbox_location(path: str) -> str:
    """``file://localhost/…`` URL for Rekordbox, percent-encoded, Windows drives kept."""
    if _URL.match(path):
        return path
    if _is_windows(path):
        return "file://localhost/" + quote(path.replace("\\", "/"), safe="/:")
    return "file://localhost" + quote(path if path.startswith("/") else "/" + path, safe="/")


def nml_location(path: str, mac_volume: str = DEFAULT_MAC_VOLUME) -> tuple[str, str, str]:
    """(VOLUME, DIR, FILE) of a path as Traktor writes them, DIR like ``/:Users/:dj/:``."""
    if _is_windows(path):
        drive, rest = ntpath.splitdrive(path)
        parts = [p for p in re.split(r"[\\/]", rest) if p]
        volume = drive
    else:
        parts = [p for p in path.split("/") if p]
        volume = mac_volume
        if len(parts) > 2 and parts[0] == "Volumes":
            volume, parts = parts[1], parts[2:]
    file_name = parts[-1] if parts else ""
    directory = "/:" + "".join(f"{p}/:" for p in parts[:-1])
    return volume, directory, file_name


def to_m3u8(tracks: Sequence[Track], *, relative_to: str | None = None) -> str:
    """Extended M3U8: ``#EXTINF:<seconds>,<Artist> - <Title>`` then the path, in play order."""
    lines = ["#EXTM3U"]
    for t in tracks:
        seconds = round(t.duration_s) if t.duration_s else -1
        label = " - ".join(x for x in (t.artist, t.title) if x) or (t.path or t.id)
        lines.append(f"#EXTINF:{seconds},{label}")
        lines.append(_m3u_path(t.path or "", relative_to))
    return "\n".join(lines) + "\n"


def _m3u_path(path: str, relative_to: str | None) -> str:
    if relative_to is None or not path or _URL.match(path):
        return path
    module = ntpath if _is_windows(path) else posixpath
    if _is_windows(path) != _is_windows(relative_to):
        return path
    if module is ntpath and ntpath.splitdrive(path)[0].lower() != (
        ntpath.splitdrive(relative_to)[0].lower()
    ):
        return path  # another drive: only an absolute path can reach it
    return module.relpath(path, relative_to)


def to_rekordbox(tracks: Sequence[Track], *, name: str = "AIDJSets set") -> str:
    """Rekordbox XML: a COLLECTION of TRACKs and one playlist listing them in play order."""
    root = ET.Element("DJ_PLAYLISTS", Version="1.0.0")
    ET.SubElement(root, "PRODUCT", Name=PRODUCT, Version=VERSION, Company=PRODUCT)
    collection = ET.SubElement(root, "COLLECTION", Entries=str(len(tracks)))
    for number, t in enumerate(tracks, start=1):
        attrs = {"TrackID": str(number)}
        for f in FIELDS:
            if f.rekordbox is None:
                continue
            value = _field_value(t, f.name)
            if f.name == "location":
                text = rekordbox_location(value) if value else None
            else:
                text = _text(f.name, value, "rekordbox")
            if text is not None:
                attrs[f.rekordbox] = text
        track = ET.SubElement(collection, "TRACK", attrs)
        if t.beat_grid is not None:  # one grid marker on the first downbeat, 4/4
            bpm, first = t.beat_grid
            ET.SubElement(
                track, "TEMPO", Inizio=f"{first:.3f}", Bpm=f"{bpm:.2f}", Metro="4/4", Battito="1"
            )
    playlists = ET.SubElement(root, "PLAYLISTS")
    folder = ET.SubElement(playlists, "NODE", Type="0", Name="ROOT", Count="1")
    node = ET.SubElement(folder, "NODE", Name=name, Type="1", KeyType="0", Entries=str(len(tracks)))
    for number in range(1, len(tracks) + 1):
        ET.SubElement(node, "TRACK", Key=str(number))
    return _xml_text(root)


def to_nml(
    tracks: Sequence[Track], *, name: str = "AIDJSets set", mac_volume: str = DEFAULT_MAC_VOLUME
) -> str:
    """Traktor NML (version 19): COLLECTION entries and one playlist of PRIMARYKEYs in play order."""
    root = ET.Element("NML", VERSION="19")
    ET.SubElement(root, "HEAD", COMPANY="www.native-instruments.com", PROGRAM="Traktor")
    ET.SubElement(root, "MUSICFOLDERS")
    collection = ET.SubElement(root, "COLLECTION", ENTRIES=str(len(tracks)))
    keys: list[str] = []
    for t in tracks:
        entry = ET.SubElement(collection, "ENTRY")
        volume, directory, file_name = nml_location(t.path or "", mac_volume)
        # no VOLUMEID: it is Traktor's own id of a disk, which an export cannot know
        ET.SubElement(entry, "LOCATION", DIR=directory, FILE=file_name, VOLUME=volume)
        keys.append(f"{volume}{directory}{file_name}")
        children: dict[str, ET.Element] = {}
        for f in FIELDS:
            value = _field_value(t, f.name)
            if value is None:
                continue
            for location in f.nml:
                element_name, _, attribute = location.partition("@")
                text = _nml_text(f.name, location, value)
                if element_name == "ENTRY":
                    entry.set(attribute, text)
                    continue
                if element_name not in children:
                    children[element_name] = ET.SubElement(entry, element_name)
                children[element_name].set(attribute, text)
        if "TEMPO" in children:
            children["TEMPO"].set("BPM_QUALITY", "100.000000")
        if t.beat_grid is not None:  # Traktor's grid marker: a type-4 cue on the first downbeat
            ET.SubElement(
                entry, "CUE_V2", NAME="AutoGrid", DISPL_ORDER="0", TYPE="4",
                START=f"{t.beat_grid[1] * 1000:.6f}", LEN="0.000000", REPEATS="-1", HOTCUE="0",
            )  # fmt: skip
    ET.SubElement(root, "SETS", ENTRIES="0")
    playlists = ET.SubElement(root, "PLAYLISTS")
    folder = ET.SubElement(playlists, "NODE", TYPE="FOLDER", NAME="$ROOT")
    subnodes = ET.SubElement(folder, "SUBNODES", COUNT="1")
    node = ET.SubElement(subnodes, "NODE", TYPE="PLAYLIST", NAME=name)
    playlist = ET.SubElement(
        node,
        "PLAYLIST",
        ENTRIES=str(len(tracks)),
        TYPE="LIST",
        UUID=uuid.uuid5(uuid.NAMESPACE_URL, "aidjsets:" + "|".join(keys)).hex,
    )
    for key in keys:
        entry = ET.SubElement(playlist, "ENTRY")
        ET.SubElement(entry, "PRIMARYKEY", TYPE="TRACK", KEY=key)
    return _xml_text(root)


def _nml_text(name: str, location: str, value: Any) -> str:
    if name == "key":
        # MUSICAL_KEY VALUE is Traktor's number (0–11 major, 12–23 minor); INFO KEY its display text
        return str(value.traktor) if location.startswith("MUSICAL_KEY") else value.open_key
    if name == "bpm":
        return f"{float(value):.6f}"
    if name == "duration_s":
        return f"{float(value):.6f}" if location.endswith("_FLOAT") else str(round(float(value)))
    return str(value)


def serato_path(path: str) -> str:
    """A track path as a Serato crate stores it: ``/``-separated, relative to its drive's root."""
    if _is_windows(path):
        rest = ntpath.splitdrive(path)[1]
        return "/".join(p for p in re.split(r"[\\/]", rest) if p)
    parts = [p for p in path.split("/") if p]
    if len(parts) > 2 and parts[0] == "Volumes":
        parts = parts[2:]  # an external drive: the crate sits on it, paths start at its root
    return "/".join(parts)


def _serato_record(tag: str, payload: bytes) -> bytes:
    return tag.encode("ascii") + len(payload).to_bytes(4, "big") + payload


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-be")


def to_serato_crate(tracks: Sequence[Track], *, music_folder: str | None = None) -> bytes:
    """A Serato ``.crate``: version, sort and column records, then each track's path in play order."""
    tracks = _placed(tracks, music_folder)
    out = [_serato_record("vrsn", _utf16("1.0/Serato ScratchLive Crate"))]
    out.append(
        _serato_record(
            "osrt", _serato_record("tvcn", _utf16("song")) + _serato_record("brev", b"\x00")
        )
    )
    for column in ("song", "artist", "bpm", "key", "length"):
        out.append(
            _serato_record(
                "ovct", _serato_record("tvcn", _utf16(column)) + _serato_record("tvcw", _utf16("0"))
            )
        )
    for t in tracks:
        if t.path and not _URL.match(t.path):
            out.append(_serato_record("otrk", _serato_record("ptrk", _utf16(serato_path(t.path)))))
    return b"".join(out)


def _xml_text(root: ET.Element) -> str:
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


_TRANSITION_COLUMNS = (
    "mix_in_relation",
    "mix_in_tempo_change_pct",
    "mix_in_energy_change",
    "mix_in_tip",
    "mix_in_cost",
)


# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")


def spreadsheet_safe(cell: object) -> object:
    """A cell a spreadsheet shows as text: a leading ``'`` before a would-be formula (numbers stay)."""
    if isinstance(cell, str) and cell.startswith(_FORMULA_START) and not _NUMBER.match(cell):
        return "'" + cell
    return cell


def spreadsheet_text(cell: str) -> str:
    """A cell as it was before :func:`spreadsheet_safe` (the apostrophe before a formula dropped)."""
    if cell.startswith("'") and cell[1:].startswith(_FORMULA_START):
        return cell[1:]
    return cell


def to_csv(tracks: Sequence[Track], scorecard: Scorecard | None = None) -> str:
    """CSV in play order: position, id, every track field (headers from the field table), mix-in.

    Text that a spreadsheet would run as a formula (a title like ``=HYPERLINK(...)``) is written
    with a leading apostrophe, as OWASP recommends; numbers, negative ones included, stay numbers.
    """
    fields = [f for f in FIELDS if (f.csv and hasattr(Track, f.name)) or f.name == "location"]
    header = ["position", "id", *(f.csv[0] for f in fields), *_TRANSITION_COLUMNS]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180: a CR or LF in a cell is quoted
    writer.writerow(header)
    transitions = scorecard.transitions if scorecard is not None else ()
    for position, t in enumerate(tracks, start=1):
        row: list[Any] = [position, t.id]
        for f in fields:
            text = _text(f.name, _field_value(t, f.name), "csv")
            row.append("" if text is None else text)
        if position > 1 and len(transitions) >= position - 1:
            tr = transitions[position - 2]
            row += [
                tr.relation or "",
                "" if tr.tempo_change_pct is None else f"{tr.tempo_change_pct:.2f}",
                "" if tr.energy_change is None else tr.energy_change,
                tr.tip,
                f"{tr.cost:.4f}",
            ]
        else:
            row += [""] * len(_TRANSITION_COLUMNS)
        writer.writerow([spreadsheet_safe(cell) for cell in row])
    return out.getvalue()


def set_json(
    tracks: Sequence[Track],
    scorecard: Scorecard | None = None,
    notes: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """``{tracks, transitions, score, notes}`` with tracks in play order (the CLI's JSON shape)."""
    out: dict[str, Any] = {
        "tracks": [
            {
                "id": t.id,
                "path": t.path,
                "title": t.title,
                "artist": t.artist,
                "bpm": t.bpm,
                "key": t.key.camelot if t.key is not None else None,
                "energy": t.energy,
                "genre": t.genre,
                "duration_s": t.duration_s,
                # The analysed grid, [tempo, first downbeat in s], for `aidj set render`.
                "beat_grid": list(t.beat_grid) if t.beat_grid is not None else None,
            }
            for t in tracks
        ],
        "transitions": [tr.to_json() for tr in scorecard.transitions] if scorecard else [],
        "score": scorecard.summary() if scorecard else {},
        "notes": dict(notes) if notes else {},
    }
    if extra:
        out.update(extra)
    return out


def export_set(
    fmt: str,
    tracks: Sequence[Track],
    *,
    scorecard: Scorecard | None = None,
    notes: Mapping[str, Any] | None = None,
    name: str = "AIDJSets set",
    relative_to: str | None = None,
    extra: Mapping[str, Any] | None = None,
    music_folder: str | None = None,
) -> str:
    """The set as text in ``fmt`` (one of :data:`EXPORT_FORMATS` except the binary ``serato``).

    ``music_folder``: where the DJ's music lives on the computer the export is for; bare and
    relative names are placed under it (:func:`locate`) in every format.
    """
    tracks = _placed(tracks, music_folder)
    if fmt == "m3u8":
        return to_m3u8(tracks, relative_to=relative_to)
    if fmt == "rekordbox":
        return to_rekordbox(tracks, name=name)
    if fmt == "nml":
        return to_nml(tracks, name=name)
    if fmt == "csv":
        return to_csv(tracks, scorecard)
    if fmt == "json":
        payload = set_json(tracks, scorecard, notes, extra)
        return json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
    if fmt == "serato":
        raise ValueError("a Serato crate is binary: use to_serato_crate()")
    raise ValueError(f"unknown export format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
