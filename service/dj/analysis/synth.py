"""Music-like test material with a known tempo, key, grid and arrangement (tests and the benchmark).

Not product code on the analysis path: it renders what the analysers must recover. Each style has its
own drum pattern (16 steps per bar), a bass line on the chord roots, a chord progression in the key
that dwells on the tonic as real tracks do, and a short lead motif in the scale. The arrangement is
``intro_bars`` of drums alone, the main part, then ``outro_bars`` of drums alone; bar 1 starts at
``lead_in_s`` seconds. ``intensity`` below 1 thins the drums, darkens the sound and lowers the level,
for the energy ordering check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

from service.dj.keys import Key

__all__ = ["STYLES", "Render", "Style", "render"]


@dataclass(frozen=True)
class Style:
    """Drum steps (0–15 in a bar of 16ths), the tempo range DJs quote, and the feel of the parts."""

    name: str
    bpm_range: tuple[float, float]
    kick: tuple[int, ...]
    snare: tuple[int, ...]
    hats: tuple[int, ...]
    bass_steps: tuple[int, ...]
    chord_steps: tuple[int, ...]  # where chords are struck (0 = held pad for the bar)
    swing: float = 0.0


STYLES: dict[str, Style] = {
    "house": Style(
        "house", (120, 128), (0, 4, 8, 12), (4, 12), (2, 6, 10, 14), (2, 6, 10, 14), (0,)
    ),
    "techno": Style(
        "techno", (126, 135), (0, 4, 8, 12), (), tuple(range(0, 16, 2)), (3, 7, 11, 15), (0,)
    ),
    "trance": Style(
        "trance",
        (134, 140),
        (0, 4, 8, 12),
        (4, 12),
        (2, 6, 10, 14),
        (1, 2, 3, 5, 6, 7, 9, 10, 11, 13, 14, 15),
        (0,),
    ),
    "dnb": Style("dnb", (170, 176), (0, 10), (4, 12), tuple(range(0, 16, 2)), (0, 3, 10), (0,)),
    "hiphop": Style(
        "hiphop", (85, 98), (0, 7, 10), (4, 12), tuple(range(0, 16, 2)), (0, 7, 10), (0, 8), 0.1
    ),
    "downtempo": Style(
        "downtempo", (85, 110), (0, 8, 11), (4, 12), tuple(range(0, 16, 2)), (0, 8, 11), (0,), 0.08
    ),
}

# Progressions as (semitones above the tonic, minor chord?) per bar; the tonic is held longest.
_MINOR_PROGRESSIONS = (
    ((0, True), (0, True), (8, False), (10, False)),  # i i VI VII
    ((0, True), (5, True), (0, True), (7, True)),  # i iv i v
)
_MAJOR_PROGRESSIONS = (
    ((0, False), (0, False), (5, False), (7, False)),  # I I IV V
    ((0, False), (9, True), (5, False), (7, False)),  # I vi IV V
)
_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
_MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)


@dataclass(frozen=True)
class Render:
    """Rendered audio and the truth it was made from."""

    audio: np.ndarray  # mono float32
    sr: int
    bpm: float
    key: Key
    first_downbeat_s: float
    intro_bars: int
    outro_bars: int


def _midi_hz(note: float) -> float:
    return 440.0 * 2.0 ** ((note - 69) / 12)


def _env(n: int, sr: int, attack: float, decay: float) -> np.ndarray:
    t = np.arange(n) / sr
    return np.minimum(1.0, t / max(attack, 1e-4)) * np.exp(-t / decay)


def _tone(freq: float, n: int, sr: int, partials: int, rng: np.random.Generator) -> np.ndarray:
    """A bright saw-like tone: ``partials`` harmonics at 1/k, slightly detuned pair for width."""
    t = np.arange(n) / sr
    out = np.zeros(n)
    for k in range(1, partials + 1):
        if freq * k > 9000:
            break
        phase = rng.uniform(0, 2 * np.pi)
        out += np.sin(2 * np.pi * freq * k * t + phase) / k
        out += 0.5 * np.sin(2 * np.pi * freq * 1.003 * k * t + phase) / k
    return out


def _drums(sr: int, rng: np.random.Generator, dark: bool) -> dict[str, np.ndarray]:
    n = int(0.35 * sr)
    t = np.arange(n) / sr
    sweep = 50 + 110 * np.exp(-t / 0.03)
    kick = np.sin(2 * np.pi * np.cumsum(sweep) / sr) * np.exp(-t / 0.18)
    kick[: int(0.002 * sr)] += rng.normal(0, 0.3, int(0.002 * sr))
    ns = int(0.25 * sr)
    noise = rng.normal(0, 1, ns)
    body = np.sin(2 * np.pi * 190 * np.arange(ns) / sr)
    snare = (0.6 * noise + 0.5 * body) * np.exp(-np.arange(ns) / sr / 0.07)
    nh = int(0.06 * sr)
    hat = np.diff(rng.normal(0, 1, nh + 1)) * np.exp(-np.arange(nh) / sr / 0.015)
    if dark:
        hat *= 0.3
    return {"kick": kick * 0.9, "snare": snare * 0.45, "hat": hat * 0.18}


def _place(track: np.ndarray, sound: np.ndarray, at: int, gain: float = 1.0) -> None:
    if at >= len(track):
        return
    end = min(len(track), at + len(sound))
    track[at:end] += gain * sound[: end - at]


def render(
    style: str,
    bpm: float,
    key: Key,
    *,
    sr: int = 44100,
    intro_bars: int = 8,
    main_bars: int = 16,
    outro_bars: int = 8,
    lead_in_s: float = 0.0,
    intensity: float = 1.0,
    seed: int = 0,
) -> Render:
    """Render a track of ``style`` at ``bpm`` in ``key``; see the module docstring."""
    spec = STYLES[style]
    rng = np.random.default_rng(seed)
    beat = 60.0 / bpm
    step = beat / 4
    bars = intro_bars + main_bars + outro_bars
    lead_in = round(lead_in_s * sr)
    length = lead_in + round(bars * 4 * beat * sr) + int(0.5 * sr)
    drums = np.zeros(length)
    music = np.zeros(length)
    sounds = _drums(sr, rng, dark=intensity < 0.7)
    progressions = _MINOR_PROGRESSIONS if key.minor else _MAJOR_PROGRESSIONS
    progression = progressions[seed % len(progressions)]
    scale = _MINOR_SCALE if key.minor else _MAJOR_SCALE
    tonic = 48 + key.pitch_class  # C3..B3
    motif = [scale[i % 7] + 12 * (i // 7) for i in rng.permutation([0, 2, 4, 7, 4, 2, 1, 0])]
    motif[0] = 0
    motif[-1] = 0  # the lead starts and ends on the tonic
    sparse = intensity < 0.7

    def at(bar: int, s: int) -> int:
        swing = spec.swing * step if s % 2 else 0.0
        return lead_in + round(((bar * 16 + s) * step + swing) * sr)

    for bar in range(bars):
        main = intro_bars <= bar < intro_bars + main_bars
        for s in spec.kick:
            _place(drums, sounds["kick"], at(bar, s))
        for s in spec.snare:  # the backbeat stays at every intensity, as in a quieter mix
            _place(drums, sounds["snare"], at(bar, s))
        if not sparse:
            for s in spec.hats:
                _place(drums, sounds["hat"], at(bar, s), 0.7 + 0.3 * rng.random())
        if not main:
            continue
        root, minor_chord = progression[(bar - intro_bars) % len(progression)]
        third = 3 if minor_chord else 4
        chord = [tonic + root + iv for iv in (0, third, 7, 12)]
        strikes = spec.chord_steps
        for i, s in enumerate(strikes):
            nxt = strikes[i + 1] if i + 1 < len(strikes) else 16
            n = round((nxt - s) * step * sr)
            pad = sum(_tone(_midi_hz(m + 12), n, sr, 6, rng) for m in chord)
            _place(music, pad * _env(n, sr, 0.02, 1.5) * 0.05, at(bar, s))
        for i, s in enumerate(spec.bass_steps):
            nxt = spec.bass_steps[i + 1] if i + 1 < len(spec.bass_steps) else 16
            n = round(min(nxt - s, 4) * step * sr * 0.9)
            note = tonic - 12 + root
            tone = np.sin(2 * np.pi * _midi_hz(note) * np.arange(n) / sr)
            tone += 0.3 * np.sin(4 * np.pi * _midi_hz(note) * np.arange(n) / sr)
            _place(music, tone * _env(n, sr, 0.005, 0.4) * 0.35, at(bar, s))
        if (bar - intro_bars) % 2 == 1:  # the lead answers every other bar
            for i, interval in enumerate(motif):
                n = round(2 * step * sr)
                tone = _tone(_midi_hz(tonic + 24 + interval), n, sr, 3, rng)
                _place(music, tone * _env(n, sr, 0.01, 0.2) * 0.06, at(bar, 2 * i))
    mix = drums + music
    if intensity < 1.0:  # darker: a one-pole low-pass
        alpha = 0.35 + 0.6 * intensity
        mix = lfilter([alpha], [1.0, alpha - 1.0], mix)
    peak = float(np.max(np.abs(mix))) or 1.0
    level = 0.89 * 10 ** (-12 * (1.0 - min(1.0, intensity)) / 20)  # quieter at low intensity
    mix = mix / peak * level
    return Render(
        audio=mix.astype(np.float32),
        sr=sr,
        bpm=bpm,
        key=key,
        first_downbeat_s=lead_in / sr,
        intro_bars=intro_bars,
        outro_bars=outro_bars,
    )
