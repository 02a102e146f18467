"""Chapter marks in a written mix, so a player can skip from track to track, with **mutagen** (GPL-2.0+,
already used to read tags).

- FLAC and Ogg (Vorbis, Opus): the Vorbis comment chapter extension (Xiph wiki "Chapter Extension"),
  ``CHAPTER001=HH:MM:SS.mmm`` and ``CHAPTER001NAME=Performer – Title``, numbered from 001.
- MP3: ID3v2.4 chapter frames (ID3v2 Chapter Frame Addendum 1.0): a top-level, ordered ``CTOC`` listing
  ``chp1`` … ``chpN`` and one ``CHAP`` per chapter, its start and end in milliseconds (the end is the
  next chapter's start, or the end of the mix) and its name in a ``TIT2`` sub-frame.
- WAV: the same ID3 frames in the RIFF ``id3 `` chunk.

Chapter marks written before (by an earlier render to the same name) are replaced; every other tag is
kept. The audio is not touched.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import mutagen
from mutagen.flac import FLAC
from mutagen.id3 import CHAP, CTOC, ID3, TIT2, CTOCFlags, Encoding, ID3NoHeaderError
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

__all__ = ["Chapter", "chapter_name", "chapter_time", "parse_chapter_time", "write_chapters"]

#: The Vorbis chapter extension numbers chapters with three digits.
MAX_VORBIS_CHAPTERS = 999
_VORBIS = frozenset({".flac", ".ogg", ".oga", ".opus"})
_ID3 = frozenset({".mp3", ".wav"})
_CHAPTER_KEY = re.compile(r"^CHAPTER\d{3}", re.IGNORECASE)
_TIME = re.compile(r"^(\d+):([0-5]\d):([0-5]\d)\.(\d{3})$")


@dataclass(frozen=True)
class Chapter:
    """Where a track starts in the mix (seconds) and what it is."""

    start_s: float
    title: str
    performer: str = ""


def chapter_name(chapter: Chapter) -> str:
    """``Performer – Title``, or the title alone when there is no performer."""
    return " – ".join(part for part in (chapter.performer, chapter.title) if part)


def chapter_time(seconds: float) -> str:
    """``HH:MM:SS.mmm`` of ``seconds`` (rounded to the millisecond; hours may pass 99)."""
    if not seconds >= 0:
        raise ValueError(f"a chapter cannot start at {seconds!r} s")
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def parse_chapter_time(text: str) -> float:
    """Seconds of an ``HH:MM:SS.mmm`` chapter time; raises ``ValueError``."""
    m = _TIME.match(text.strip())
    if m is None:
        raise ValueError(f"not a chapter time: {text!r}")
    h, mi, s, ms = (int(g) for g in m.groups())
    return h * 3600 + mi * 60 + s + ms / 1000


def write_chapters(
    path: str | os.PathLike[str], chapters: Sequence[Chapter], total_s: float
) -> None:
    """Embed ``chapters`` (in playing order) into the mix at ``path``, ``total_s`` seconds long.

    The format follows the extension: .flac, .ogg, .oga, .opus, .mp3 or .wav; anything else raises
    ``ValueError``, as do chapters out of order or past the end."""
    name = os.fspath(path)
    suffix = Path(name).suffix.lower()
    if suffix not in _VORBIS and suffix not in _ID3:
        raise ValueError(f"{name}: chapter marks go in .flac, .ogg, .opus, .mp3 or .wav files")
    starts = [c.start_s for c in chapters]
    if any(not s >= 0 for s in starts) or any(b < a for a, b in pairwise(starts)):
        raise ValueError("chapters must start at 0 s or later, in order")
    if starts and starts[-1] > total_s:
        raise ValueError(f"a chapter starts at {starts[-1]:.3f} s, after the end ({total_s:.3f} s)")
    if suffix in _VORBIS:
        _write_vorbis(name, suffix, chapters)
    else:
        _write_id3(name, suffix, chapters, total_s)


def _write_vorbis(name: str, suffix: str, chapters: Sequence[Chapter]) -> None:
    if len(chapters) > MAX_VORBIS_CHAPTERS:
        raise ValueError(f"at most {MAX_VORBIS_CHAPTERS} chapters fit Vorbis comments")
    kinds = [FLAC] if suffix == ".flac" else [OggVorbis, OggOpus, OggFLAC]
    try:
        audio = mutagen.File(name, options=kinds)
    except mutagen.MutagenError as exc:
        raise ValueError(f"{name}: cannot read its tags ({exc})") from None
    if audio is None:
        raise ValueError(f"{name}: not a {suffix[1:].upper()} file mutagen can tag")
    if audio.tags is None:
        audio.add_tags()
    tags = audio.tags
    # Vorbis comments iterate as (key, value) pairs: ``keys()`` gives the names.
    for key in {k for k in tags.keys() if _CHAPTER_KEY.match(k)}:  # noqa: SIM118
        del tags[key]
    for n, chapter in enumerate(chapters, start=1):
        tags[f"CHAPTER{n:03d}"] = chapter_time(chapter.start_s)
        tags[f"CHAPTER{n:03d}NAME"] = chapter_name(chapter)
    audio.save()


def _write_id3(name: str, suffix: str, chapters: Sequence[Chapter], total_s: float) -> None:
    wave: WAVE | None = None
    try:
        if suffix == ".wav":
            wave = WAVE(name)
            if wave.tags is None:
                wave.add_tags()
            tags = wave.tags
        else:
            try:
                tags = ID3(name)
            except ID3NoHeaderError:
                tags = ID3()
    except mutagen.MutagenError as exc:
        raise ValueError(f"{name}: cannot read its tags ({exc})") from None
    tags.delall("CHAP")
    tags.delall("CTOC")
    ids = [f"chp{n}" for n in range(1, len(chapters) + 1)]
    end_ms = round(total_s * 1000)
    starts_ms = [round(c.start_s * 1000) for c in chapters]
    for i, chapter in enumerate(chapters):
        tags.add(
            CHAP(
                element_id=ids[i],
                start_time=starts_ms[i],
                end_time=starts_ms[i + 1] if i + 1 < len(chapters) else end_ms,
                sub_frames=[TIT2(encoding=Encoding.UTF8, text=[chapter_name(chapter)])],
            )
        )
    if chapters:
        tags.add(
            CTOC(
                element_id="toc",
                flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
                child_element_ids=ids,
                sub_frames=[],
            )
        )
    try:
        if wave is not None:
            wave.save(v2_version=4)
        else:
            tags.save(name, v2_version=4)
    except mutagen.MutagenError as exc:
        raise ValueError(f"{name}: cannot write its tags ({exc})") from None
