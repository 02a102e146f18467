"""Audio analysis on rendered music: tempo in the DJ's octave, grid, key, energy, intro/outro, errors.

The material is rendered by ``service.dj.analysis.synth`` (drum pattern per style, chords and bass in
the key, drums-only intro and outro), short so the module stays quick on a shared machine.
"""

from __future__ import annotations

import functools
import importlib
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.signal import resample_poly

from service.dj.analysis import Analysis, analyze, analyze_samples
from service.dj.analysis.decode import SAMPLE_RATE, decode
from service.dj.analysis.synth import STYLES, render
from service.dj.keys import Key, parse_key
from tests.dj.audio import FIXTURES, KINDS, write_audio

RATE = 44100


@functools.lru_cache(maxsize=32)
def _rendered(
    style: str, bpm: float, key: str, intensity: float = 1.0, lead_in: float = 0.0, bars: int = 4
) -> tuple[np.ndarray, object]:
    r = render(
        style,
        bpm,
        parse_key(key),
        sr=RATE,
        intro_bars=bars,
        main_bars=8,
        outro_bars=bars,
        lead_in_s=lead_in,
        intensity=intensity,
        seed=int(bpm) + len(key),
    )
    return resample_poly(r.audio, 1, 2).astype(np.float32), r


def _analyse(style: str, bpm: float, key: str = "8A", **kw: float) -> Analysis:
    samples, _ = _rendered(style, bpm, key, **kw)
    return analyze_samples(samples, SAMPLE_RATE, "x")


@pytest.mark.parametrize(
    ("style", "bpm"),
    [("house", 124.0), ("techno", 132.0), ("trance", 138.0), ("dnb", 174.0), ("hiphop", 90.0),
     ("downtempo", 100.0)],
)  # fmt: skip
def test_tempo_in_the_djs_octave(style: str, bpm: float) -> None:
    result = _analyse(style, bpm)
    assert result.bpm == pytest.approx(bpm, rel=0.005)  # D&B at 174, not 87; hip-hop at 90, not 180
    assert result.bpm_confidence is not None and result.bpm_confidence > 0.5


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    style=st.sampled_from(sorted(STYLES)),
    where=st.floats(0.0, 1.0),
)
def test_any_tempo_in_a_styles_range_is_found_to_two_percent(style: str, where: float) -> None:
    lo, hi = STYLES[style].bpm_range
    bpm = round(lo + where * (hi - lo), 1)
    assert _analyse(style, bpm).bpm == pytest.approx(bpm, rel=0.02)


def test_tempo_has_decimals_from_the_grid_fit() -> None:
    assert _analyse("house", 123.4).bpm == pytest.approx(123.4, abs=0.05)


@pytest.mark.parametrize(("style", "lead_in"), [("house", 0.0), ("techno", 0.73), ("dnb", 1.1)])
def test_first_downbeat(style: str, lead_in: float) -> None:
    bpm = {"house": 124.0, "techno": 130.0, "dnb": 172.0}[style]
    result = _analyse(style, bpm, lead_in=lead_in)
    assert result.first_beat_s == pytest.approx(lead_in, abs=0.03)


@pytest.mark.parametrize(
    ("style", "key"), [("house", "8A"), ("techno", "3B"), ("trance", "11A"), ("hiphop", "6B")]
)
def test_key_runner_up_and_confidence(style: str, key: str) -> None:
    bpm = sum(STYLES[style].bpm_range) / 2
    result = _analyse(style, bpm, key)
    # Exact on these; where a detector misses it is the relative key, with the truth as runner-up.
    assert parse_key(key) in (result.key, result.key_runner_up)
    assert style == "hiphop" or result.key == parse_key(key)
    assert result.key_runner_up is not None and result.key_runner_up != result.key
    assert 0 < (result.key_confidence or 0) <= 1


def test_key_survives_detuning() -> None:
    """A quarter-tone-ish detune (a pitched vinyl rip) is absorbed by the tuning estimate."""
    samples, _ = _rendered("house", 124.0, "5A")
    detuned = resample_poly(samples, 100, 103).astype(np.float32)  # +3 %: half a semitone up
    result = analyze_samples(detuned, SAMPLE_RATE, "x")
    assert result.key in (parse_key("5A"), parse_key("5A").transposed(1))


def test_intro_and_outro_in_bars() -> None:
    result = _analyse("techno", 128.0)
    assert (result.intro_bars, result.outro_bars) == (4, 4)


def test_energy_orders_the_same_material_by_intensity() -> None:
    low = _analyse("house", 124.0, intensity=0.4)
    high = _analyse("house", 124.0, intensity=1.0)
    assert low.energy is not None and high.energy is not None
    assert 1 <= low.energy < high.energy <= 10


def test_json_row_mirrors_inspect() -> None:
    row = _analyse("house", 124.0).to_json()
    for name in ("path", "bpm", "key", "energy", "duration_s", "error"):
        assert name in row
    for name in ("bpm_confidence", "key_confidence", "key_runner_up", "first_beat_s",
                 "intro_bars", "outro_bars"):  # fmt: skip
        assert name in row
    assert set(row["key"]) == {"camelot", "open_key", "name"}
    assert row["error"] is None


@pytest.mark.parametrize(("fmt", "subtype", "suffix"), [("WAV", "PCM_16", ".wav"), ("FLAC", "PCM_16", ".flac"), ("MP3", "MPEG_LAYER_III", ".mp3")])  # fmt: skip
def test_files_of_each_format(tmp_path: Path, fmt: str, subtype: str, suffix: str) -> None:
    _, r = _rendered("house", 124.0, "8A")
    path = tmp_path / f"t{suffix}"
    sf.write(str(path), r.audio, RATE, format=fmt, subtype=subtype)
    result = analyze(path)
    assert result.error is None
    assert result.bpm == pytest.approx(124.0, rel=0.01)
    assert result.key == Key(9, minor=True)
    assert result.duration_s == pytest.approx(len(r.audio) / RATE, abs=0.1)


def test_mp4_audio_decodes_through_ffmpeg() -> None:
    samples = decode(FIXTURES / "template-aac.m4a")
    assert samples.dtype == np.float32 and len(samples) > 0


def test_silent_short_and_corrupt_files_give_error_rows(tmp_path: Path) -> None:
    silent = tmp_path / "silent.wav"
    sf.write(str(silent), np.zeros(RATE * 20, dtype=np.float32), RATE)
    short = tmp_path / "short.wav"
    sf.write(str(short), 0.3 * np.sin(np.arange(RATE) / 10).astype(np.float32), RATE)
    corrupt = tmp_path / "corrupt.mp3"
    corrupt.write_bytes(b"\xff\xfb" + b"not audio at all" * 100)
    rows = {p.name: analyze(p) for p in (silent, short, corrupt, tmp_path / "missing.flac")}
    assert rows["silent.wav"].error == "the audio is silent"
    assert "too short" in (rows["short.wav"].error or "")
    assert rows["corrupt.mp3"].error and rows["corrupt.mp3"].bpm is None
    assert rows["missing.flac"].error == "no such file"


def test_noise_without_a_pulse_still_gives_a_row() -> None:
    rng = np.random.default_rng(1)
    result = analyze_samples((0.1 * rng.normal(size=SAMPLE_RATE * 12)).astype(np.float32))
    assert result.error is None
    assert result.energy is not None
    assert result.bpm is None or (result.bpm_confidence or 0) < 0.9
    assert math.isfinite(result.duration_s or 0)


@pytest.mark.parametrize(
    "kind", ["mp3", "flac", "ogg", "opus", "m4a-aac", "m4a-alac", "aiff", "wav"]
)
def test_every_format_the_tag_reader_accepts_decodes(tmp_path: Path, kind: str) -> None:
    path = write_audio(tmp_path / f"x{KINDS[kind][0]}", kind, seconds=0.5)
    samples = decode(path)
    assert samples.dtype == np.float32 and len(samples) > 0 and np.isfinite(samples).all()


def test_a_mix_longer_than_twenty_minutes_is_refused_before_decoding(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoding = importlib.import_module("service.dj.analysis.decode")  # the module, not the function
    monkeypatch.setattr(decoding, "MAX_SECONDS", 5)
    path = tmp_path / "mix.flac"
    sf.write(str(path), np.zeros(8000 * 6, dtype=np.float32), 8000, format="FLAC")
    row = analyze(path)
    assert row.error is not None and "not a track" in row.error
