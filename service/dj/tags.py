"""Read the tags DJs rely on from every audio format they use, keeping where each value came from.

``read_tags(path)`` never raises: a missing, empty, truncated, corrupt or non-audio file gives a
:class:`TrackTags` whose ``error`` says what is wrong, so one bad file never stops a batch. Values that
are present but unusable (BPM 0, a key in no known notation, energy 42) are left out and named in
``warnings``.

Formats: MP3 (ID3v2.2/2.3/2.4, ID3v1), FLAC, Ogg Vorbis, Opus, MP4/M4A (AAC, ALAC), AIFF (ID3 chunk),
WAV (ID3 chunk, then RIFF INFO). Which tag holds which field is declared once in
:mod:`service.dj.tracks`.
"""

from __future__ import annotations

import io
import logging
import os
import re
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import mutagen
from mutagen import id3
from mutagen.aiff import AIFF
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from service.dj import riff
from service.dj.keys import Key
from service.dj.tracks import FIELDS, TrackField, fields_to_json
from service.dj.values import parse_mik_comment

__all__ = ["AUDIO_EXTENSIONS", "TrackTags", "iter_audio_files", "read_many", "read_tags"]

log = logging.getLogger(__name__)

AUDIO_EXTENSIONS = frozenset(
    {
        ".mp3",
        ".flac",
        ".ogg",
        ".oga",
        ".opus",
        ".m4a",
        ".mp4",
        ".aac",
        ".alac",
        ".aif",
        ".aiff",
        ".aifc",
        ".wav",
        ".wave",
    }
)

# Only the formats we read: mutagen then sniffs 7 candidates instead of its 30-odd.
_TYPES: list[Any] = [MP3, FLAC, OggVorbis, OggOpus, MP4, AIFF, WAVE]
_FORMAT = {
    MP3: "mp3",
    FLAC: "flac",
    OggVorbis: "ogg",
    OggOpus: "opus",
    MP4: "m4a",
    AIFF: "aiff",
    WAVE: "wav",
}
_CODEC = {MP3: "mp3", FLAC: "flac", OggVorbis: "vorbis", OggOpus: "opus", AIFF: "pcm", WAVE: "pcm"}
_SUPPORTED_TEXT = "MP3, FLAC, Ogg Vorbis, Opus, M4A, AIFF or WAV"

# Tag families in the order they are consulted for each container.
_FAMILIES = {
    MP3: ("id3",),
    AIFF: ("id3",),
    WAVE: ("id3", "riff"),
    FLAC: ("vorbis",),
    OggVorbis: ("vorbis",),
    OggOpus: ("vorbis",),
    MP4: ("mp4",),
}


# For each family, the fields it can hold and their tag names upper-cased (lookups ignore case).
_PLANS: dict[str, tuple[tuple[TrackField, tuple[str, ...]], ...]] = {
    family: tuple(
        (f, tuple(t.upper() for t in getattr(f, family))) for f in FIELDS if getattr(f, family)
    )
    for family in ("id3", "vorbis", "mp4", "riff")
}


@dataclass(slots=True)
class TrackTags:
    """What one audio file says about itself.

    ``sources`` maps each field to ``tag:<tag name>``, ``tag:comment`` (a Mixed In Key comment) or
    ``file`` (the duration, from the audio stream).
    """

    path: str
    format: str | None = None
    codec: str | None = None
    title: str | None = None
    artist: str | None = None
    album: str | None = None
    genre: str | None = None
    label: str | None = None
    isrc: str | None = None
    year: int | None = None
    comment: str | None = None
    bpm: float | None = None
    key: Key | None = None
    energy: int | None = None
    duration_s: float | None = None
    bitrate: int | None = None  # kbit/s
    sample_rate: int | None = None
    sources: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The shape ``aidj inspect --json`` prints (a contract other tools read)."""
        return fields_to_json(self)


# --- flattening each tag family into {LOOKUP NAME: (tag name as stored, first value)} -------------


def _flatten_id3(tags: Any, prefix: str) -> dict[str, tuple[str, Any]]:
    out: dict[str, tuple[str, Any]] = {}
    comment_desc: str | None = None
    for frame in tags.values():
        fid = frame.FrameID
        if fid == "COMM":
            desc = frame.desc
            # iTunes keeps gain and gapless data in described comments; they are not the DJ's.
            if desc.lower().startswith("itun") or not frame.text:
                continue
            # Prefer the comment without a description (what every tagger shows as "Comment").
            if comment_desc is None or (comment_desc and not desc):
                out["COMM"] = (prefix + "COMM", str(frame.text[0]))
                comment_desc = desc
            continue
        if fid[0] != "T" or not getattr(frame, "text", None):
            continue
        if fid == "TXXX":
            out.setdefault(
                "TXXX:" + frame.desc.upper(), (f"{prefix}TXXX:{frame.desc}", frame.text[0])
            )
        elif fid == "TCON":
            genres = frame.genres
            if genres:
                out.setdefault("TCON", (prefix + "TCON", genres[0]))
        else:
            out.setdefault(fid, (prefix + fid, str(frame.text[0])))
    return out


def _flatten_vorbis(tags: Any) -> dict[str, tuple[str, Any]]:
    out: dict[str, tuple[str, Any]] = {}
    for name, value in tags:
        out.setdefault(name.upper(), (name, value))
    return out


def _flatten_mp4(tags: Any) -> dict[str, tuple[str, Any]]:
    out: dict[str, tuple[str, Any]] = {}
    for name, items in tags.items():
        # iTunes flags (compilation ``cpil``, gapless ``pgap``, podcast ``pcst``) are one bare bool
        if not isinstance(items, list):
            items = [items]
        if not items:
            continue
        value = items[0]
        if isinstance(value, bytes):  # free-form atoms hold bytes (MP4FreeForm)
            value = value.decode("utf-8", "replace")
        elif isinstance(value, tuple) or name == "covr":  # track/disc numbers, cover art
            continue
        out.setdefault(name.upper(), (name, value))
    return out


# --- reading ---------------------------------------------------------------------------------------


def _fill_fields(result: TrackTags, family: str, found: dict[str, tuple[str, Any]]) -> None:
    """Set every still-empty field from ``found`` following the family's plan; first valid tag wins."""
    for f, names in _PLANS[family]:
        if getattr(result, f.name) is not None:
            continue
        for name in names:
            hit = found.get(name)
            if hit is None:
                continue
            tag, raw = hit
            try:
                value = f.parse(raw)
            except ValueError as exc:
                result.warnings.append(f"{tag}: {exc}; ignored")
                continue
            if value is not None:
                setattr(result, f.name, value)
                result.sources[f.name] = "tag:" + tag
                break


def _fill_from_comment(result: TrackTags) -> None:
    """Mixed In Key writes "8A - Energy 6" into the comment: use it where no tag gave key or energy."""
    if result.comment is None or (result.key is not None and result.energy is not None):
        return
    key, energy = parse_mik_comment(result.comment)
    if result.key is None and key is not None:
        result.key = key
        result.sources["key"] = "tag:comment"
    if result.energy is None and energy is not None:
        result.energy = energy
        result.sources["energy"] = "tag:comment"


def _fill(result: TrackTags, audio: Any, path: str) -> None:
    kind = type(audio)
    result.format = _FORMAT[kind]
    info = audio.info
    length = getattr(info, "length", 0) or 0
    if length > 0:
        result.duration_s = round(float(length), 3)
        result.sources["duration_s"] = "file"  # the audio stream's header, not a tag
    bitrate = getattr(info, "bitrate", 0) or 0
    result.bitrate = round(bitrate / 1000) if bitrate > 0 else None
    # Opus always decodes at 48 kHz; mutagen gives no rate for it.
    result.sample_rate = 48000 if kind is OggOpus else getattr(info, "sample_rate", None) or None
    if kind is MP4:
        codec = getattr(info, "codec", "") or ""
        result.codec = "alac" if codec == "alac" else "aac" if codec.startswith("mp4a") else codec
    else:
        result.codec = _CODEC[kind]

    tags = audio.tags
    for family in _FAMILIES[kind]:
        if family != "riff" and tags is None:
            continue
        try:
            found = _flatten(family, tags, path)
        except (
            Exception
        ) as exc:  # one unreadable tag block must not cost the stream info or the rest
            log.warning("reading the %s tags of %s failed", family, path, exc_info=True)
            result.warnings.append(
                f"the {_FAMILY_NAMES[family]} could not be read ({exc}); ignored"
            )
            continue
        if found:
            _fill_fields(result, family, found)
    _fill_from_comment(result)


_FAMILY_NAMES = {
    "id3": "ID3 tag",
    "vorbis": "Vorbis comments",
    "mp4": "MP4 tags",
    "riff": "RIFF INFO chunk",
}


def _flatten(family: str, tags: Any, path: str) -> dict[str, tuple[str, Any]]:
    if family == "riff":
        return riff.read_info(path)
    if family == "id3":
        version = getattr(tags, "version", (2, 4, 0))
        return _flatten_id3(tags, "ID3v1:" if version[0] < 2 else "")
    if family == "vorbis":
        return _flatten_vorbis(tags)
    return _flatten_mp4(tags)


# What a file's first bytes say it is: (description, whether it is an audio container we read).
_MAGIC: tuple[tuple[bytes, int, str, bool], ...] = (
    (b"ID3", 0, "MP3", True),
    (b"fLaC", 0, "FLAC", True),
    (b"OggS", 0, "Ogg", True),
    (b"ftyp", 4, "MP4/M4A", True),
    (b"WAVE", 8, "WAV", True),
    (b"AIFF", 8, "AIFF", True),
    (b"AIFC", 8, "AIFF", True),
    (b"AVI ", 8, "an AVI video", False),
    (b"RIFF", 0, "WAV", True),  # a RIFF file cut before its form type
    (b"RF64", 0, "WAV", True),
    (b"FORM", 0, "AIFF", True),
    (b"\x89PNG", 0, "a PNG image", False),
    (b"\xff\xd8\xff", 0, "a JPEG image", False),
    (b"GIF8", 0, "a GIF image", False),
    (b"PK\x03\x04", 0, "a ZIP archive", False),
    (b"%PDF", 0, "a PDF document", False),
    (b"Rar!", 0, "a RAR archive", False),
)
_DENIAL_RE = re.compile(r"\bnot an? (valid )?|\bexpected riff", re.IGNORECASE)
_TRUNCATED_HINTS = ("truncat", "unable to read full", "said", "not enough data", "eof")


def _sniff(head: bytes) -> tuple[str | None, bool]:
    """What the first bytes of a file are, and whether that is an audio container we read."""
    for magic, at, what, is_audio in _MAGIC:
        if head[at : at + len(magic)] == magic:
            return what, is_audio
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "MP3", True  # an MPEG frame sync
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<head")):
        return "an HTML page (a failed download?)", False
    if text.startswith((b"{", b"[")):
        return "JSON text (a failed download?)", False
    if head and not head.strip(b"\x00"):
        return "nothing but zero bytes (an interrupted copy?)", False
    if head and all(32 <= b < 127 or b in (9, 10, 13) for b in head):
        return "a text file", False
    return None, False


def _exception_text(exc: BaseException) -> str:
    """The first non-empty message in an exception or what it wraps (mutagen often wraps OSError)."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            break
        text = str(seen).strip()
        if text and text != type(seen).__name__:
            return text
        inner = seen.args[0] if seen.args and isinstance(seen.args[0], BaseException) else None
        seen = inner or seen.__cause__ or seen.__context__
    return ""


def _id3_end(head: bytes) -> int | None:
    """Where an ID3v2 tag at the start ends (header + syncsafe size), if there is one."""
    if len(head) < 10 or head[:3] != b"ID3":
        return None
    size = 0
    for byte in head[6:10]:
        size = (size << 7) | (byte & 0x7F)
    return 10 + size


def _diagnose(path: str, exc: BaseException | None) -> str:
    """A sentence saying why a file could not be read: missing, empty, not audio, cut short, damaged."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "file not found"
    except OSError as err:
        return f"cannot open the file: {err.strerror or err}"
    if os.path.isdir(path):
        return "is a folder, not an audio file"
    if st.st_size == 0:
        return "empty file (0 bytes)"
    try:
        with open(path, "rb") as fh:
            head = fh.read(64)
    except OSError as err:
        return f"cannot read the file: {err.strerror or err}"
    what, is_audio = _sniff(head)
    if not is_audio:
        if what is not None:
            return f"not audio: the file is {what}"
        return f"not an audio file we can read ({_SUPPORTED_TEXT}): its start matches none of them"
    end = _id3_end(head)
    if end is not None and end >= st.st_size:
        return (
            f"cut short: the file ends inside its ID3 tag ({st.st_size:,} of {end:,} bytes), "
            "before any audio"
        )
    detail = _exception_text(exc) if exc is not None else ""
    if any(hint in detail.lower() for hint in _TRUNCATED_HINTS):
        return f"a damaged {what} file, probably cut short: {detail}"
    # "not a MP4 file", "is not a valid FLAC file": the start says it is one, so it is damaged
    if detail and not _DENIAL_RE.search(detail):
        return f"a damaged {what} file: {detail}"
    return f"a damaged {what} file (cut short or corrupt): its {what} structure could not be read"


def _fill_rf64(result: TrackTags, path: str) -> None:
    """Stream info and tags of an RF64/BW64 WAV file, which mutagen does not open."""
    stream, id3_bytes = riff.read_rf64(path)
    result.format = "wav"
    result.codec = stream.codec
    if stream.duration_s:
        result.duration_s = round(stream.duration_s, 3)
        result.sources["duration_s"] = "file"
    result.bitrate = round(stream.byte_rate * 8 / 1000) if stream.byte_rate > 0 else None
    result.sample_rate = stream.sample_rate or None
    if id3_bytes:
        try:
            found = _flatten_id3(id3.ID3(io.BytesIO(id3_bytes)), "")
        except Exception as exc:  # a damaged tag chunk costs the tags, not the file
            result.warnings.append(f"the ID3 tag could not be read ({exc}); ignored")
        else:
            _fill_fields(result, "id3", found)
    _fill_fields(result, "riff", riff.read_info(path))
    _fill_from_comment(result)


def read_tags(path: str | os.PathLike[str]) -> TrackTags:
    """Read one file's tags and stream info; problems go to ``error``/``warnings``, never raised."""
    path = os.fspath(path)
    result = TrackTags(path=path)
    try:
        audio = mutagen.File(path, options=_TYPES)
    except Exception as exc:  # mutagen raises many types for damaged files; none may stop a batch
        audio, failure = None, exc
    else:
        failure = None
    if audio is None:
        if riff.is_rf64(path):
            try:
                _fill_rf64(result, path)
            except (OSError, ValueError, struct.error) as exc:
                result.error = f"a damaged RF64 WAV file: {exc}"
            return result
        result.error = _diagnose(path, failure)
        return result
    try:
        _fill(result, audio, path)
    except Exception as exc:
        log.warning("reading tags of %s failed", path, exc_info=True)
        result.error = f"could not read the tags: {exc}"
    return result


def read_many(paths: Iterable[str | os.PathLike[str]]) -> Iterator[TrackTags]:
    """Read every file in turn; each result stands alone, errors included."""
    for path in paths:
        yield read_tags(path)


def iter_audio_files(folder: str | os.PathLike[str]) -> Iterator[str]:
    """Audio files under ``folder`` (by extension), sorted, hidden files and folders skipped."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        for name in sorted(files):
            if not name.startswith(".") and os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS:
                yield os.path.join(root, name)
