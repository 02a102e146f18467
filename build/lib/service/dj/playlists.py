"""Playlists and DJ collections as pools of tracks: M3U/M3U8, Rekordbox XML, Traktor NML, CSV.

``parse_playlist(data)`` (or ``read_playlist(path)``) returns a :class:`Playlist`: the entries in order,
each with its line number, raw text, normalised path (or URL), and whatever the format gave (duration,
artist, title, BPM, key, energy, genre, label…), plus a list of :class:`Problem` ``{line, reason}``.
A bad line is reported and skipped; the rest is kept. Input that cannot be used at all (too large,
too many entries, not a playlist, broken XML with nothing in it) raises :class:`PoolError`.

Locations are normalised one way for every format (:func:`normalise_location`): forward slashes,
``file://`` URIs decoded, Windows drives upper-cased (``C:/Music/a.mp3``), UNC shares kept as
``//server/share/…``, ``.`` and ``..`` resolved, and a ``..`` that would climb above the library
root (or above ``/``) rejected. Remote ``http(s)://`` entries are kept with ``url`` set and no path.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote
from xml.parsers import expat

from service.dj.keys import Key
from service.dj.tracks import FIELDS, TrackField, csv_header_key, fields_to_json
from service.dj.values import parse_duration, parse_mik_comment, parse_text

__all__ = [
    "Limits",
    "Location",
    "Playlist",
    "PoolEntry",
    "PoolError",
    "Problem",
    "detect_format",
    "location_key",
    "normalise_location",
    "parse_playlist",
    "read_playlist",
]


class PoolError(ValueError):
    """The input cannot be used as a playlist or pool at all; the message says why."""


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds on what one upload may hold (a whole-library Rekordbox export of 50,000 tracks fits)."""

    max_bytes: int = 64 * 1024 * 1024
    max_entries: int = 50_000
    max_line_chars: int = 4096  # PATH_MAX on Linux; no real path or #EXTINF line is longer


@dataclass(frozen=True, slots=True)
class Problem:
    """A skipped line, an ignored value or an unreadable file, with a reason a DJ can read."""

    line: int | None
    reason: str
    path: str | None = None  # the file concerned, when the problem is about a file

    def to_json(self) -> dict[str, Any]:
        """``{line, reason}``, plus ``path`` when the problem is about a file."""
        out: dict[str, Any] = {"line": self.line, "reason": self.reason}
        if self.path is not None:
            out["path"] = self.path
        return out


@dataclass(frozen=True, slots=True)
class Location:
    """Where an entry lives: a normalised local path, or a remote URL."""

    path: str | None = None
    url: str | None = None


@dataclass(slots=True)
class PoolEntry:
    """One track of a playlist or collection, as the file described it."""

    line: int | None
    raw: str
    path: str | None = None
    url: str | None = None
    source_id: str | None = None  # Rekordbox TrackID, Traktor primary key
    duration_s: float | None = None
    artist: str | None = None
    title: str | None = None
    album: str | None = None
    genre: str | None = None
    label: str | None = None
    isrc: str | None = None
    year: int | None = None
    comment: str | None = None
    bpm: float | None = None
    key: Key | None = None
    energy: int | None = None
    duplicate_of: int | None = None  # line of the first entry with the same location

    def to_json(self) -> dict[str, Any]:
        """The entry shape of ``aidj playlist --json``."""
        return fields_to_json(self)


@dataclass(slots=True)
class Playlist:
    """A parsed playlist or collection: entries in order and the problems met on the way."""

    format: str
    encoding: str
    entries: list[PoolEntry] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    name: str | None = None
    playlists: list[dict[str, Any]] = field(default_factory=list)  # inside a collection

    def to_json(self) -> dict[str, Any]:
        """The shape ``aidj playlist --json`` prints (a contract other tools read)."""
        return {
            "format": self.format,
            "encoding": self.encoding,
            "name": self.name,
            "entries": [e.to_json() for e in self.entries],
            "problems": [p.to_json() for p in self.problems],
            "playlists": list(self.playlists),
        }


# --- locations -------------------------------------------------------------------------------------

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
_DRIVE_RE = re.compile(r"^([A-Za-z]):(?:/|$)")
_URI_DRIVE_RE = re.compile(r"^/([A-Za-z])[:|](?=/|$)")


def _unquote(text: str) -> str:
    try:
        return unquote(text, encoding="utf-8", errors="strict")
    except UnicodeDecodeError:
        return unquote(text, encoding="latin-1")  # old Windows tools percent-encode ANSI bytes


def _file_uri_path(uri: str) -> str:
    rest = uri[5:]  # after "file:"
    if rest.startswith("//"):
        host, _, path = rest[2:].partition("/")
        path = "/" + path
        host = _unquote(host)
        if host and host.lower() != "localhost":
            path = "//" + host + path  # file://server/share/x → UNC
    else:
        path = rest
    path = _unquote(path)
    if m := _URI_DRIVE_RE.match(path):  # /C:/Music → C:/Music (and the old /C|/ form)
        path = f"{m[1]}:{path[3:]}"
    return path


def normalise_location(raw: str, base: str = "") -> Location:
    """Normalise a playlist location; raise ValueError (with the reason) if it is unusable.

    ``base`` is the playlist's folder relative to the library root: relative entries are resolved
    against it, and may not climb above the root.
    """
    text = raw.strip()
    if not text:
        raise ValueError("empty location")
    if (m := _SCHEME_RE.match(text)) and len(m[1]) > 1:  # one letter is a Windows drive
        if m[1].lower() != "file":
            return Location(url=text)
        text = _file_uri_path(text)
    if "\x00" in text:
        raise ValueError("location contains a NUL byte")
    unc = text.startswith("\\\\")
    text = text.replace("\\", "/")
    share = text[2:].split("/", 2) if text.startswith("//") else []
    if m := _DRIVE_RE.match(text):
        prefix, rest = f"{m[1].upper()}:/", text[3:]
    elif len(share) == 3 and share[0] and share[1]:  # //server/share/… (UNC)
        prefix, rest = f"//{share[0]}/{share[1]}/", share[2]
    elif unc:
        raise ValueError("network path without a server and share")
    elif text.startswith("/"):  # POSIX absolute; a stray leading "//" is just "/"
        prefix, rest = "/", text
    else:
        prefix, rest = "", f"{base}/{text}" if base else text
    stack: list[str] = []
    for part in rest.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not stack:
                raise ValueError("path climbs out of the library root with '..'")
            stack.pop()
        else:
            stack.append(part)
    if not stack:
        raise ValueError("location names a folder, not a file")
    return Location(path=prefix + "/".join(stack))


def location_key(entry: PoolEntry) -> str | None:
    """What makes two entries the same file (URL or path; Windows paths ignore case), or None."""
    if entry.url is not None:
        return "url:" + entry.url
    if entry.path is None:
        return None
    if _DRIVE_RE.match(entry.path) or entry.path.startswith("//"):
        return entry.path.casefold()
    return entry.path


def _flag_duplicates(entries: list[PoolEntry]) -> None:
    first: dict[str, int | None] = {}
    for entry in entries:
        key = location_key(entry)
        if key is None:
            continue
        if key in first:
            entry.duplicate_of = first[key]
        else:
            first[key] = entry.line


# --- decoding --------------------------------------------------------------------------------------

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_LINE_SPLIT = re.compile(r"\r\n|\r|\n")


def _decode(data: bytes, errors: str = "strict") -> tuple[str, str]:
    """Text and the encoding it was read in: a BOM, else UTF-8, else Windows-1252, else Latin-1."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding, errors), encoding
            except UnicodeDecodeError as exc:
                raise PoolError(f"the file starts like {encoding} but is not: {exc}") from None
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _legacy_problem(encoding: str) -> list[Problem]:
    if encoding in ("cp1252", "latin-1"):
        return [Problem(None, f"the file is not UTF-8; read it as {encoding} (a legacy .m3u)")]
    return []


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _looks_binary(text: str) -> bool:
    """Audio, images and archives are full of control characters; playlists have next to none."""
    head = text[:65536]
    return len(_CONTROL.findall(head)) > 0.05 * len(head)


# --- format detection ------------------------------------------------------------------------------

_CSV_KEYS = {csv_header_key(alias): f for f in FIELDS for alias in f.csv}
_CSV_DELIMITERS = (",", ";", "\t", "|")


def _csv_header_fields(line: str) -> set[str]:
    delimiter = max(_CSV_DELIMITERS, key=line.count)
    if delimiter not in line:
        return set()
    cells = next(csv.reader([line], delimiter=delimiter))
    return {_CSV_KEYS[k].name for k in map(csv_header_key, cells) if k in _CSV_KEYS}


def detect_format(data: bytes, filename: str | None = None) -> str:
    """``m3u``, ``rekordbox``, ``nml`` or ``csv``, from the content first and the file name second."""
    head, _ = _decode(data[:8192], errors="replace")  # the cut may split a character
    start = head.lstrip("\ufeff \t\r\n")
    if start.startswith("<"):
        if "<DJ_PLAYLISTS" in head:
            return "rekordbox"
        if "<NML" in head:
            return "nml"
        raise PoolError("an XML file, but neither a Rekordbox collection nor a Traktor NML")
    ext = os.path.splitext(filename or "")[1].lower()
    if ext in (".m3u", ".m3u8"):
        return "m3u"
    if ext in (".csv", ".tsv"):
        return "csv"
    first = next((ln for ln in _LINE_SPLIT.split(start) if ln.strip()), "")
    if first.upper().startswith("#EXTM3U"):
        return "m3u"
    if _csv_header_fields(first) & {"location", "title", "artist"}:
        return "csv"
    return "m3u"


# --- shared field handling -------------------------------------------------------------------------


def _set_field(
    entry: PoolEntry, f: TrackField, raw: object, label: str, problems: list[Problem]
) -> None:
    try:
        value = f.parse(raw)
    except ValueError as exc:
        problems.append(Problem(entry.line, f"{label}: {exc}; ignored"))
        return
    if value is not None:
        setattr(entry, f.name, value)


def _fill_from_comment(entry: PoolEntry) -> None:
    if entry.comment is not None and (entry.key is None or entry.energy is None):
        key, energy = parse_mik_comment(entry.comment)
        entry.key = entry.key or key
        entry.energy = entry.energy if entry.energy is not None else energy


def _check_count(entries: list[PoolEntry], limits: Limits) -> None:
    if len(entries) >= limits.max_entries:
        raise PoolError(f"more than {limits.max_entries:,} entries; split the playlist")


# --- M3U / M3U8 ------------------------------------------------------------------------------------

_EXTINF_RE = re.compile(r"^#EXTINF:\s*(-?\d+(?:[.,]\d+)?)[^,]*(?:,(.*))?$", re.IGNORECASE)
_ARTIST_TITLE_RE = re.compile(r"\s+[-–—]\s+")
# Per-entry directives some players write beside #EXTINF.
_PENDING_DIRECTIVES = {"#EXTART:": "artist", "#EXTALB:": "album", "#EXTGENRE:": "genre"}


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
        duration = parse_duration(m[1].replace(",", ".")) if not m[1].startswith("-") else None
    except ValueError:
        duration = None
    display = parse_text(m[2])
    artist = title = None
    if display:
        parts = _ARTIST_TITLE_RE.split(display, maxsplit=1)
        if len(parts) == 2 and parts[0] and parts[1]:
            artist, title = parts[0].strip(), parts[1].strip()
        else:
            title = display
    return _ExtInf(line, duration, artist, title)


def _parse_m3u(text: str, encoding: str, base: str, limits: Limits) -> Playlist:
    result = Playlist("m3u", encoding, problems=_legacy_problem(encoding))
    problems = result.problems
    pending: _ExtInf | None = None
    extras: dict[str, str] = {}
    for no, line in enumerate(_LINE_SPLIT.split(text), 1):
        if len(line) > limits.max_line_chars:
            problems.append(
                Problem(
                    no,
                    f"line is {len(line):,} characters long (limit "
                    f"{limits.max_line_chars:,}); skipped",
                )
            )
            continue
        if "\x00" in line:
            problems.append(Problem(no, "line contains a NUL byte; skipped"))
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
            pending, extras = None, {}
            continue
        _check_count(result.entries, limits)
        entry = PoolEntry(line=no, raw=line, path=loc.path, url=loc.url)
        if pending is not None:
            entry.duration_s, entry.artist, entry.title = (
                pending.duration_s,
                pending.artist,
                pending.title,
            )
        for name, value in extras.items():
            if getattr(entry, name) is None:
                setattr(entry, name, value)
        pending, extras = None, {}
        result.entries.append(entry)
    if pending is not None:
        problems.append(Problem(pending.line, "#EXTINF not followed by a track; ignored"))
    return result


# --- CSV -------------------------------------------------------------------------------------------


def _parse_csv(text: str, encoding: str, base: str, limits: Limits) -> Playlist:
    result = Playlist("csv", encoding, problems=_legacy_problem(encoding))
    problems = result.problems
    lines = _LINE_SPLIT.split(text)
    header_no = next((i for i, ln in enumerate(lines, 1) if ln.strip()), None)
    if header_no is None:
        raise PoolError("the CSV file is empty")
    header_line = lines[header_no - 1].lstrip("\ufeff")
    delimiter = max(_CSV_DELIMITERS, key=header_line.count)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""), delimiter=delimiter)
    for _ in range(header_no):
        header = next(reader)
    columns: list[tuple[int, TrackField, str]] = []
    taken: set[str] = set()
    for index, cell in enumerate(header):
        f = _CSV_KEYS.get(csv_header_key(cell))
        if f is not None and f.name not in taken:
            columns.append((index, f, cell.strip()))
            taken.add(f.name)
    if not taken & {"location", "title", "artist"}:
        raise PoolError(
            "the CSV header names none of the columns we read (path or location, title, artist); "
            f"it has: {', '.join(c.strip() for c in header) or 'nothing'}"
        )
    previous = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(Problem(reader.line_num, f"unreadable CSV row ({exc}); skipped"))
            previous = reader.line_num
            continue
        no, previous = previous + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        raw = delimiter.join(row)
        if len(raw) > limits.max_line_chars:
            problems.append(
                Problem(
                    no,
                    f"row is {len(raw):,} characters long (limit "
                    f"{limits.max_line_chars:,}); skipped",
                )
            )
            continue
        if "\x00" in raw:
            problems.append(Problem(no, "row contains a NUL byte; skipped"))
            continue
        entry = PoolEntry(line=no, raw=raw)
        skip = False
        for index, f, label in columns:
            cell = row[index] if index < len(row) else ""
            if f.name == "location":
                if not cell.strip():
                    continue
                try:
                    loc = normalise_location(cell, base)
                except ValueError as exc:
                    problems.append(Problem(no, f"{label}: {exc}; skipped"))
                    skip = True
                    break
                entry.path, entry.url = loc.path, loc.url
            else:
                _set_field(entry, f, cell, label, problems)
        if skip:
            continue
        if entry.path is None and entry.url is None and entry.title is None:
            problems.append(Problem(no, "row has neither a location nor a title; skipped"))
            continue
        _fill_from_comment(entry)
        _check_count(result.entries, limits)
        result.entries.append(entry)
    return result


# --- XML collections (Rekordbox, Traktor) ----------------------------------------------------------


def _xml_parser(result: Playlist) -> Any:
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


def _run_xml(parser: Any, data: bytes, result: Playlist, what: str) -> None:
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


def _select(
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
    _flag_duplicates(entries)
    result.entries = entries


def _entry_from(
    line: int,
    raw: str,
    location: str | None,
    values: dict[str, str],
    columns: list[tuple[TrackField, str]],
    base: str,
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
    for f, label in columns:
        if getattr(entry, f.name) is not None:
            continue  # an earlier source for the same field already gave a value
        raw_value = values.get(label)
        if raw_value not in (None, ""):
            _set_field(entry, f, raw_value, label, problems)
    _fill_from_comment(entry)
    return entry


_RB_COLUMNS = [(f, f.rekordbox) for f in FIELDS if f.rekordbox and f.name != "location"]
_NML_COLUMNS = [(f, spot) for f in FIELDS for spot in f.nml]


def _parse_rekordbox(data: bytes, base: str, wanted: str | None, limits: Limits) -> Playlist:
    result = Playlist("rekordbox", "utf-8")
    parser = _xml_parser(result)
    stack: list[str] = []
    by_id: dict[str, PoolEntry] = {}
    by_location: dict[str, PoolEntry] = {}
    nodes: list[str] = []
    lists: list[tuple[str, int, list[tuple[int, str]]]] = []
    current: list[Any] = []  # the playlist being read: [path, key type, items]

    def start(name: str, attrs: dict[str, str]) -> None:
        parent = stack[-1] if stack else None
        stack.append(name)
        line = parser.CurrentLineNumber
        if name == "TRACK" and parent == "COLLECTION":
            _check_count(result.entries, limits)
            location = attrs.get("Location")
            if location is not None and len(location) > limits.max_line_chars:
                result.problems.append(Problem(line, "Location is too long; skipped"))
                return
            entry = _entry_from(
                line, location or "", location, attrs, _RB_COLUMNS, base, result.problems
            )
            if entry is None:
                return
            entry.source_id = attrs.get("TrackID")
            if entry.source_id:
                by_id[entry.source_id] = entry
            if location:
                by_location[location] = entry
            result.entries.append(entry)
        elif name == "NODE":
            nodes.append(attrs.get("Name", ""))
            if attrs.get("Type") == "1":
                path = "/".join(n for n in nodes if n != "ROOT")
                current[:] = [path, int(attrs.get("KeyType", "0") or 0), []]
                lists.append((current[0], current[1], current[2]))
        elif name == "TRACK" and parent == "NODE" and current:
            current[2].append((line, attrs.get("Key", "")))

    def end(name: str) -> None:
        stack.pop()
        if name == "NODE":
            nodes.pop()
            current.clear()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    _run_xml(parser, data, result, "Rekordbox XML")
    _flag_duplicates(result.entries)
    # KeyType 0 lists tracks by TrackID, 1 by Location.
    _select(
        result,
        lambda key_type, key: (by_location if key_type == 1 else by_id).get(key),
        lists,
        wanted,
    )
    return result


def _nml_path(volume: str, directory: str, file: str) -> str:
    """Traktor writes ``DIR="/:Users/:dj/:"``; Windows volumes are drive letters (``C:``)."""
    path = directory.replace("/:", "/") + file
    if re.match(r"^[A-Za-z]:$", volume):
        return volume + path
    return path


def _parse_nml(data: bytes, base: str, wanted: str | None, limits: Limits) -> Playlist:
    result = Playlist("nml", "utf-8")
    parser = _xml_parser(result)
    stack: list[str] = []
    by_key: dict[str, PoolEntry] = {}
    nodes: list[str] = []
    lists: list[tuple[str, int, list[tuple[int, str]]]] = []
    current: list[Any] = []
    track: dict[str, Any] = {}

    def start(name: str, attrs: dict[str, str]) -> None:
        parent = stack[-1] if stack else None
        stack.append(name)
        if name == "ENTRY" and parent == "COLLECTION":
            _check_count(result.entries, limits)
            track.clear()
            track["line"] = parser.CurrentLineNumber
            track.update({f"ENTRY@{k}": v for k, v in attrs.items()})
        elif track and parent == "ENTRY" and "COLLECTION" in stack:
            track.update({f"{name}@{k}": v for k, v in attrs.items()})
        elif name == "NODE":
            nodes.append(attrs.get("NAME", ""))
            if attrs.get("TYPE") == "PLAYLIST":
                path = "/".join(n for n in nodes if n != "$ROOT")
                current[:] = [path, 0, []]
                lists.append((current[0], 0, current[2]))
        elif name == "PRIMARYKEY" and current and attrs.get("TYPE", "TRACK") == "TRACK":
            current[2].append((parser.CurrentLineNumber, attrs.get("KEY", "")))

    def end(name: str) -> None:
        stack.pop()
        if name == "ENTRY" and track and "COLLECTION" in stack:
            _finish_nml_entry(dict(track), result, by_key, base, limits)
            track.clear()
        elif name == "NODE":
            nodes.pop()
            current.clear()

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    _run_xml(parser, data, result, "Traktor NML")
    _flag_duplicates(result.entries)
    _select(result, lambda _key_type, key: by_key.get(key), lists, wanted)
    return result


def _finish_nml_entry(
    track: dict[str, Any], result: Playlist, by_key: dict[str, PoolEntry], base: str, limits: Limits
) -> None:
    line = track["line"]
    volume = track.get("LOCATION@VOLUME", "")
    directory = track.get("LOCATION@DIR", "")
    file = track.get("LOCATION@FILE", "")
    primary = volume + directory + file
    if len(primary) > limits.max_line_chars:
        result.problems.append(Problem(line, "LOCATION is too long; skipped"))
        return
    location = _nml_path(volume, directory, file) if file else None
    entry = _entry_from(line, primary, location, track, _NML_COLUMNS, base, result.problems)
    if entry is None:
        return
    entry.source_id = primary or None
    if primary:
        by_key[primary] = entry
    result.entries.append(entry)


# --- entry points ----------------------------------------------------------------------------------

_TEXT_PARSERS: dict[str, Callable[[str, str, str, Limits], Playlist]] = {
    "m3u": _parse_m3u,
    "csv": _parse_csv,
}
_XML_PARSERS: dict[str, Callable[[bytes, str, str | None, Limits], Playlist]] = {
    "rekordbox": _parse_rekordbox,
    "nml": _parse_nml,
}


def parse_playlist(
    data: bytes,
    *,
    filename: str | None = None,
    base: str = "",
    playlist: str | None = None,
    limits: Limits | None = None,
) -> Playlist:
    """Parse playlist or collection bytes of any supported format into a :class:`Playlist`.

    ``base`` is the playlist's folder relative to the library root (see :func:`normalise_location`);
    ``playlist`` picks one playlist inside a Rekordbox or Traktor collection (by name or path).
    Raises :class:`PoolError` when the input is unusable.
    """
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise PoolError(f"the file is {len(data):,} bytes; the limit is {limits.max_bytes:,}")
    if not data.strip():
        raise PoolError("the file is empty")
    fmt = detect_format(data, filename)
    if fmt in _XML_PARSERS:
        return _XML_PARSERS[fmt](data, base, playlist, limits)
    if playlist is not None:
        raise PoolError(
            "choosing a playlist by name works for Rekordbox and Traktor collections only"
        )
    text, encoding = _decode(data)
    if _looks_binary(text):
        raise PoolError("binary data, not a playlist")
    result = _TEXT_PARSERS[fmt](text, encoding, base, limits)
    _flag_duplicates(result.entries)
    return result


def read_playlist(
    path: str | os.PathLike[str],
    *,
    root: str | os.PathLike[str] | None = None,
    playlist: str | None = None,
    limits: Limits | None = None,
) -> Playlist:
    """Read and parse a playlist file; relative entries resolve against ``root`` (default: its folder)."""
    limits = limits or Limits()
    path = os.fspath(path)
    try:
        size = os.path.getsize(path)
        if size > limits.max_bytes:
            raise PoolError(f"the file is {size:,} bytes; the limit is {limits.max_bytes:,}")
        with open(path, "rb") as fh:
            data = fh.read(limits.max_bytes + 1)
    except OSError as exc:
        raise PoolError(f"cannot read {path}: {exc.strerror or exc}") from None
    base = ""
    if root is not None:
        rel = os.path.relpath(os.path.dirname(os.path.abspath(path)), os.path.abspath(root))
        if rel == ".." or rel.startswith(".." + os.sep):
            raise PoolError(f"{path} is outside the library root {os.fspath(root)}")
        base = "" if rel == "." else rel.replace(os.sep, "/")
    return parse_playlist(
        data, filename=os.path.basename(path), base=base, playlist=playlist, limits=limits
    )
