"""Chapter marks in a written mix: each format's convention read back with mutagen, the audio untouched."""

from __future__ import annotations

import re
from pathlib import Path

import mutagen
import numpy as np
import pytest
import soundfile as sf
from hypothesis import given
from hypothesis import strategies as st
from mutagen.id3 import ID3, TPE1, CTOCFlags
from mutagen.wave import WAVE

from service.dj.render import Chapter, write_chapters
from service.dj.render.chapters import chapter_time, parse_chapter_time

#: extension: (libsndfile format, subtype, sample rate)
FORMATS = {
    "flac": ("FLAC", "PCM_24", 44100),
    "ogg": ("OGG", "VORBIS", 44100),
    "opus": ("OGG", "OPUS", 48000),
    "mp3": ("MP3", "MPEG_LAYER_III", 44100),
    "wav": ("WAV", "PCM_24", 44100),
}
CHAPTERS = [
    Chapter(0.0, "One", "Gen"),
    Chapter(61.5, "Two"),  # no performer: the title alone
    Chapter(3725.0625, "Thré", "Ärtist"),  # past an hour, a sub-millisecond start
]
TOTAL_S = 4000.0
NAMES = ["Gen – One", "Two", "Ärtist – Thré"]
STARTS_MS = [0, 61500, 3725062]


def _mix(tmp_path: Path, ext: str) -> tuple[Path, np.ndarray]:
    """A short, nearly silent file (a quiet tone, so that "the audio is untouched" means something)."""
    fmt, subtype, rate = FORMATS[ext]
    t = np.arange(2 * rate) / rate
    audio = np.stack([0.01 * np.sin(2 * np.pi * 440 * t)] * 2, axis=1).astype(np.float32)
    path = tmp_path / f"mix.{ext}"
    sf.write(path, audio, rate, format=fmt, subtype=subtype)
    decoded, _ = sf.read(path, dtype="float32")
    return path, decoded


def _vorbis_chapters(path: Path) -> list[tuple[str, str]]:
    tags = mutagen.File(path).tags
    keys = (re.fullmatch(r"chapter(\d{3})", k, re.IGNORECASE) for k in tags.keys())  # noqa: SIM118
    numbers = sorted({m.group(1) for m in keys if m})
    return [(tags[f"CHAPTER{n}"][0], tags[f"CHAPTER{n}NAME"][0]) for n in numbers]


def _id3(path: Path) -> ID3:
    return WAVE(path).tags if path.suffix == ".wav" else ID3(path)


def _id3_chapters(tags: ID3) -> list[tuple[int, int, str]]:
    (toc,) = tags.getall("CTOC")
    assert toc.flags & CTOCFlags.TOP_LEVEL and toc.flags & CTOCFlags.ORDERED
    chaps = {c.element_id: c for c in tags.getall("CHAP")}
    assert sorted(chaps) == sorted(toc.child_element_ids)
    return [
        (chaps[i].start_time, chaps[i].end_time, str(chaps[i].sub_frames["TIT2"]))
        for i in toc.child_element_ids
    ]


@pytest.mark.parametrize("ext", list(FORMATS))
def test_chapters_read_back_in_order_and_the_audio_is_untouched(tmp_path: Path, ext: str) -> None:
    path, before = _mix(tmp_path, ext)
    write_chapters(path, CHAPTERS, TOTAL_S)
    if ext in ("flac", "ogg", "opus"):
        assert _vorbis_chapters(path) == [
            ("00:00:00.000", NAMES[0]),
            ("00:01:01.500", NAMES[1]),
            ("01:02:05.062", NAMES[2]),
        ]
    else:
        tags = _id3(path)
        assert tags.version[:2] == (2, 4)
        assert _id3_chapters(tags) == [
            (STARTS_MS[0], STARTS_MS[1], NAMES[0]),
            (STARTS_MS[1], STARTS_MS[2], NAMES[1]),
            (STARTS_MS[2], 4_000_000, NAMES[2]),
        ]
        assert sorted(c.element_id for c in tags.getall("CHAP")) == ["chp1", "chp2", "chp3"]
    after, rate = sf.read(path, dtype="float32")
    assert rate == FORMATS[ext][2] and sf.info(path).frames == len(before)
    np.testing.assert_array_equal(after, before)


@pytest.mark.parametrize("ext", list(FORMATS))
def test_a_second_render_replaces_the_chapters_and_keeps_other_tags(
    tmp_path: Path, ext: str
) -> None:
    path, before = _mix(tmp_path, ext)
    if ext in ("mp3", "wav"):
        if ext == "wav":
            wave = WAVE(path)
            wave.add_tags()
            wave.tags.add(TPE1(encoding=3, text=["The DJ"]))
            wave.save()
        else:
            ID3().save(path)
            tags = ID3(path)
            tags.add(TPE1(encoding=3, text=["The DJ"]))
            tags.save(path)
    else:
        f = mutagen.File(path)
        if f.tags is None:
            f.add_tags()
        f.tags["ARTIST"] = "The DJ"
        f.save()
    write_chapters(path, CHAPTERS, TOTAL_S)
    write_chapters(path, [Chapter(0.0, "Only")], 2.0)
    if ext in ("mp3", "wav"):
        tags = _id3(path)
        assert _id3_chapters(tags) == [(0, 2000, "Only")]
        assert str(tags["TPE1"]) == "The DJ" and not tags.getall("TIT2")
    else:
        assert _vorbis_chapters(path) == [("00:00:00.000", "Only")]
        assert mutagen.File(path).tags["ARTIST"] == ["The DJ"]
    assert sf.info(path).frames == len(before)


def test_an_unknown_format_or_disordered_chapters_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "mix.aiff"
    sf.write(path, np.zeros((441, 2), np.float32), 44100, format="AIFF")
    with pytest.raises(ValueError, match="chapter marks go in"):
        write_chapters(path, CHAPTERS, TOTAL_S)
    flac, _ = _mix(tmp_path, "flac")
    with pytest.raises(ValueError, match="in order"):
        write_chapters(flac, [Chapter(5.0, "B"), Chapter(1.0, "A")], 10.0)
    with pytest.raises(ValueError, match="after the end"):
        write_chapters(flac, [Chapter(0.0, "A"), Chapter(11.0, "B")], 10.0)
    assert "CHAPTER001" not in mutagen.File(flac).tags


def test_no_chapters_leave_no_table_of_contents(tmp_path: Path) -> None:
    path, _ = _mix(tmp_path, "mp3")
    write_chapters(path, CHAPTERS, TOTAL_S)
    write_chapters(path, [], TOTAL_S)
    tags = ID3(path)
    assert not tags.getall("CHAP") and not tags.getall("CTOC")


@given(st.integers(min_value=0, max_value=200 * 3_600_000))
def test_chapter_times_are_exact_to_the_millisecond(ms: int) -> None:
    text = chapter_time(ms / 1000)
    assert re.fullmatch(r"\d{2,}:[0-5]\d:[0-5]\d\.\d{3}", text)
    assert round(parse_chapter_time(text) * 1000) == ms


@given(st.floats(min_value=0, max_value=200 * 3600, allow_nan=False))
def test_chapter_times_round_to_the_nearest_millisecond(seconds: float) -> None:
    assert abs(parse_chapter_time(chapter_time(seconds)) - seconds) <= 0.0005 + 1e-9


def test_chapter_times_refuse_negative_or_missing_values() -> None:
    for bad in (-0.001, float("nan")):
        with pytest.raises(ValueError, match="cannot start at"):
            chapter_time(bad)
    with pytest.raises(ValueError, match="not a chapter time"):
        parse_chapter_time("1:2:3")
