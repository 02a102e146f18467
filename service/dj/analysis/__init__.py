"""Audio analysis: tempo, beat grid, key, energy and intro/outro from the audio itself.

Pure domain code (numpy, scipy, soundfile; PyAV for MP4 audio only), usable from the command line
(``aidj analyze``), a job or a test. Why these libraries and not others:

- **soundfile** (BSD-3-Clause, libsndfile LGPL-2.1) decodes WAV, AIFF, FLAC, Ogg Vorbis, Opus and MP3
  in-process; **PyAV** (BSD-3-Clause, FFmpeg LGPL in its wheel) only for AAC/ALAC in MP4, which
  libsndfile cannot read.
- **numpy/scipy** (BSD-3-Clause) for the transforms: everything here is a handful of FFTs, a
  median filter and an autocorrelation, at about 100× real time on one core.
- Not **librosa** (ISC, fine to ship): it would add a dozen packages for the same few transforms.
  Not **essentia** (AGPL-3.0: would oblige us to publish the service's source to its users): it is
  the benchmark's reference only (``bench/requirements.txt``). Not **madmom** (its trained models
  are non-commercial) nor any CNN tempo model (none ships its weights in a registry package).

:func:`analyze` decodes a file; :func:`analyze_samples` works on samples already in memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from service.dj.analysis.decode import SAMPLE_RATE, DecodeError, decode
from service.dj.analysis.energy import energy_level, sections
from service.dj.analysis.key import estimate_key
from service.dj.analysis.spectral import band_energies
from service.dj.analysis.tempo import estimate_grid
from service.dj.keys import Key
from service.dj.tracks import fields_to_json

__all__ = ["ANALYSIS_VERSION", "Analysis", "AnalysisError", "analyze", "analyze_samples"]

#: Bumped when results change enough that stored analyses should be redone.
ANALYSIS_VERSION = 1
#: Shortest audio worth analysing: two bars at 60 BPM.
MIN_SECONDS = 8.0
#: Peak below this (−80 dBFS) is silence.
SILENCE_PEAK = 1e-4


class AnalysisError(ValueError):
    """The file cannot be analysed; the message says why in a DJ's words."""


@dataclass(frozen=True, slots=True)
class Analysis:
    """What the audio says: the ``aidj inspect --json`` fields plus confidences and the grid."""

    path: str
    bpm: float | None = None
    key: Key | None = None
    energy: int | None = None
    duration_s: float | None = None
    bpm_confidence: float | None = None
    key_confidence: float | None = None
    key_runner_up: Key | None = None
    first_beat_s: float | None = None
    intro_bars: int | None = None
    outro_bars: int | None = None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The row ``aidj analyze --json`` prints; keys as ``{camelot, open_key, name}``."""
        return fields_to_json(self)


def analyze_samples(samples: np.ndarray, rate: int = SAMPLE_RATE, path: str = "") -> Analysis:
    """Analyse mono ``samples`` at ``rate`` Hz (the analysers expect 22,050 Hz)."""
    duration = len(samples) / rate
    if duration < MIN_SECONDS:
        raise AnalysisError(f"too short to analyse ({duration:.1f} s; at least {MIN_SECONDS:g} s)")
    peak = float(np.max(np.abs(samples))) if len(samples) else 0.0
    if peak < SILENCE_PEAK:
        raise AnalysisError("the audio is silent")
    bands = band_energies(samples, rate)
    frame_level = bands.power.sum(axis=0)
    sounding = np.nonzero(frame_level >= frame_level.max() * 1e-5)[0]  # within 50 dB
    music_start = float(sounding[0] / bands.frame_rate) if len(sounding) else 0.0
    grid = estimate_grid(bands, music_start)
    key = estimate_key(samples)
    bpm = grid.bpm if grid else None
    intro = outro = None
    if grid is not None:
        intro, outro = sections(
            bands,
            key.tonal_per_frame if key else None,
            key.frame_rate if key else 1.0,
            grid.first_beat_s,
            4 * grid.beat_s,
        )
    return Analysis(
        path=path,
        bpm=bpm,
        key=key.key if key else None,
        energy=energy_level(samples, rate, bands, bpm),
        duration_s=round(duration, 3),
        bpm_confidence=grid.confidence if grid else None,
        key_confidence=key.confidence if key else None,
        key_runner_up=key.runner_up if key else None,
        first_beat_s=grid.first_beat_s if grid else None,
        intro_bars=intro,
        outro_bars=outro,
    )


def analyze(path: str | os.PathLike[str]) -> Analysis:
    """Analyse one audio file; a file that cannot be analysed gives a row with ``error`` set."""
    name = os.fspath(path)
    try:
        samples = decode(name)
        return analyze_samples(samples, SAMPLE_RATE, name)
    except (DecodeError, AnalysisError) as exc:
        return Analysis(path=name, error=str(exc))
    except MemoryError:
        return Analysis(path=name, error="the file is too long to analyse in memory")
