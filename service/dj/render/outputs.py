"""A set rendered to files: the mix, its cue sheet, and one preview per transition with its waveform.

``aidj set render`` and the render job both call :func:`render_set`; the command writes where it is
told, the job stores what this writes. Tracks come in set order with a loader each, so a track is
decoded only when its turn comes, and a track that cannot be decoded is left out of the mix with its
transitions (the ones around it become one transition from the track before to the track after).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from service.dj.analysis import analyze
from service.dj.render.audio import RATE, load
from service.dj.render.chapters import Chapter, write_chapters
from service.dj.render.mix import Deck, Played, Track, Transition, mix_blocks, preview

__all__ = [
    "MIX_FORMATS",
    "PREVIEW_FORMATS",
    "PREVIEW_SECONDS",
    "WAVEFORM_BINS",
    "PreviewFile",
    "RenderedSet",
    "SetTrack",
    "cue_sheet",
    "decode_track",
    "render_set",
    "waveform",
]

#: Mix formats by file extension: (libsndfile format, subtype).
MIX_FORMATS: dict[str, tuple[str, str]] = {
    ".flac": ("FLAC", "PCM_24"),
    ".wav": ("WAV", "PCM_24"),
    ".ogg": ("OGG", "VORBIS"),
    ".mp3": ("MP3", "MPEG_LAYER_III"),
}
#: Preview formats by name; Opus (in Ogg) runs at 48 kHz.
PREVIEW_FORMATS: dict[str, tuple[str, str]] = {
    "mp3": ("MP3", "MPEG_LAYER_III"),
    "opus": ("OGG", "OPUS"),
    "ogg": ("OGG", "VORBIS"),
    "flac": ("FLAC", "PCM_24"),
    "wav": ("WAV", "PCM_24"),
}
#: A preview: the blend with the end of one track before it and the start of the next after it.
PREVIEW_SECONDS = 45.0
#: Columns of a preview's waveform overview.
WAVEFORM_BINS = 120


@dataclass(frozen=True)
class SetTrack:
    """One track of the set to render: where its loader finds it, and what to call it."""

    load: Callable[[], Track]  # raises ValueError when the audio cannot be decoded
    title: str
    artist: str = ""

    @property
    def label(self) -> str:
        return f"{self.artist} – {self.title}" if self.artist else self.title


@dataclass(frozen=True)
class PreviewFile:
    """One transition's preview as written."""

    from_index: int
    to_index: int
    path: Path
    seconds: float
    blend_at_s: float  # where the blend starts in the preview
    blend_s: float
    beatmatched: bool
    speed: float
    note: str
    peaks: list[float]
    technique: str = "blend"  # the waveform overview: peak level per column, 0-1


@dataclass
class RenderedSet:
    """What :func:`render_set` did."""

    played: list[Played] = field(default_factory=list)  # tracks in the mix, with their start
    failed: list[Played] = field(default_factory=list)  # tracks left out, with the error
    previews: list[PreviewFile] = field(default_factory=list)
    seconds: float = 0.0  # length of the mix
    render_s: float = 0.0  # wall time spent


def decode_track(
    path: Path, grid: tuple[float, float] | None, title: str = "", technique: str | None = None
) -> Track:
    """``path`` decoded for the mix, with its beat grid (tempo, first downbeat in s); without one,
    the file is analysed for it. ``technique`` is how it comes in (the scorecard's). Raises ``DecodeError`` (a ``ValueError``) for a file that cannot be
    decoded."""
    audio = load(path)
    if grid is None:
        found = analyze(path)
        if found.bpm is not None and found.first_beat_s is not None:
            grid = (found.bpm, found.first_beat_s)
    bpm, first = grid if grid is not None else (None, None)
    return Track(audio, float(bpm) if bpm else None, first, title or path.name, technique)


def waveform(audio: np.ndarray, bins: int = WAVEFORM_BINS) -> list[float]:
    """Peak level per column of ``audio`` (frames × channels), rounded to 3 decimals."""
    if len(audio) == 0:
        return []
    mono = np.abs(np.asarray(audio, dtype=np.float32)).max(axis=1)
    edges = np.linspace(0, len(mono), min(bins, len(mono)) + 1).astype(int)
    peaks = np.maximum.reduceat(mono, edges[:-1])
    return [round(float(min(p, 1.0)), 3) for p in peaks]


def _write_preview(
    outgoing: Deck, tr: Transition, name: Path, preview_format: str, seconds: float
) -> tuple[float, float, list[float]]:
    audio, lead = preview(outgoing, tr, seconds)
    fmt, subtype = PREVIEW_FORMATS[preview_format]
    rate = RATE
    written = audio
    if subtype == "OPUS":
        written, rate = resample_poly(audio, 160, 147, axis=0).astype(np.float32), 48000
    sf.write(name, written, rate, format=fmt, subtype=subtype)
    return len(audio) / RATE, lead / RATE, waveform(audio)


def render_set(
    tracks: Sequence[SetTrack],
    *,
    mix: Path | None = None,
    previews: Path | None = None,
    preview_format: str = "mp3",
    preview_seconds: float = PREVIEW_SECONDS,
    bars: int | None = None,
    keylock: bool = False,
    on_transition: Callable[[Transition, int, int], None] | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> RenderedSet:
    """Render ``tracks`` in order: the mix to ``mix`` (format from its extension, a chapter mark
    per track) when given, a preview per transition into the folder ``previews``
    (``NN-MM.<format>``) when given. Each blend is as long as its technique says, or ``bars``.

    ``on_transition(transition, from_index, to_index)`` hears of each blend as it is planned;
    ``on_progress(done, total)`` of each track as it is passed."""
    if mix is not None and mix.suffix.lower() not in MIX_FORMATS:
        raise ValueError(f"{mix.name}: use a .flac, .wav, .ogg or .mp3 name")
    if preview_format not in PREVIEW_FORMATS:
        raise ValueError(f"preview format {preview_format!r}: use one of {sorted(PREVIEW_FORMATS)}")
    result = RenderedSet()
    started = time.perf_counter()

    def transition_seen(outgoing: Deck, tr: Transition, a: int, b: int) -> None:
        if on_transition is not None:
            on_transition(tr, a, b)
        if previews is None:
            return
        path = previews / f"{a + 1:02d}-{b + 1:02d}.{preview_format}"
        seconds, lead, peaks = _write_preview(outgoing, tr, path, preview_format, preview_seconds)
        result.previews.append(PreviewFile(a, b, path, seconds, lead, tr.length / RATE,
                                           tr.beatmatched, tr.speed, tr.note, peaks,
                                           tr.technique))  # fmt: skip

    loaders = [(i, track.load) for i, track in enumerate(tracks)]
    frames = 0
    sink = None
    if mix is not None:
        fmt, subtype = MIX_FORMATS[mix.suffix.lower()]
        sink = sf.SoundFile(mix, "w", RATE, 2, subtype=subtype, format=fmt)
    try:
        for item in mix_blocks(loaders, bars=bars, on_transition=transition_seen,
                               pitch_lock=keylock):  # fmt: skip
            if isinstance(item, Played):
                (result.failed if item.error is not None else result.played).append(item)
                if on_progress is not None:
                    on_progress(len(result.played) + len(result.failed), len(tracks))
                continue
            if sink is not None:
                sink.write(item)
            frames += len(item)
    finally:
        if sink is not None:
            sink.close()
    result.seconds = frames / RATE
    if mix is not None and result.played:
        chapters = [Chapter(p.start_s, tracks[p.index].title, tracks[p.index].artist)
                    for p in result.played]  # fmt: skip
        write_chapters(mix, chapters, result.seconds)
    result.render_s = time.perf_counter() - started
    return result


def _cue_time(seconds: float) -> str:
    frames = round(seconds * 75)
    return f"{frames // 4500:02d}:{frames // 75 % 60:02d}:{frames % 75:02d}"


def _quote(text: str) -> str:
    return text.replace('"', "'")


def cue_sheet(mix_name: str, tracks: Sequence[SetTrack], played: Sequence[Played]) -> str:
    """The cue sheet of a mix file: one ``TRACK`` per played track at the second it starts."""
    kind = "MP3" if mix_name.lower().endswith(".mp3") else "WAVE"
    lines = [f'FILE "{_quote(mix_name)}" {kind}']
    for n, item in enumerate(played, start=1):
        track = tracks[item.index]
        lines.append(f"  TRACK {n:02d} AUDIO")
        lines.append(f'    TITLE "{_quote(track.title)}"')
        if track.artist:
            lines.append(f'    PERFORMER "{_quote(track.artist)}"')
        lines.append(f"    INDEX 01 {_cue_time(item.start_s)}")
    return "\n".join(lines) + "\n"
