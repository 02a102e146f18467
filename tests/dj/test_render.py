"""Rendering transitions: beat alignment, tempo, loudness, no clipping, plain crossfade without a grid.

Click tracks (a short pulse on every beat) make the beats exactly measurable; the rendered music of
``service.dj.analysis.synth`` checks loudness and peaks on music-like material. Short tracks keep the
module quick.
"""

from __future__ import annotations

import functools
import itertools
import tracemalloc

import numpy as np
import pytest
from scipy.signal import find_peaks

from service.dj.analysis.synth import render
from service.dj.keys import Key
from service.dj.render import (
    RATE,
    TARGET_LUFS,
    Track,
    loudness,
    mix_blocks,
    prepare,
    preview,
    transition,
)
from service.dj.render.audio import keylock, ride
from service.dj.render.loudness import k_weighting


def clicks(bpm: float, first_s: float, seconds: float) -> np.ndarray:
    """Stereo pulses on every beat from ``first_s``, over a little noise."""
    audio = 0.01 * np.random.default_rng(1).standard_normal((round(seconds * RATE), 2))
    pulse = np.hanning(20)[:, None] * 0.8
    t = first_s
    while t < seconds - 0.01:
        i = round(t * RATE)
        audio[i : i + 20] += pulse
        t += 60.0 / bpm
    return audio.astype(np.float32)


def pulses(stem: np.ndarray) -> np.ndarray:
    level = np.abs(stem).max(axis=1)
    found, _ = find_peaks(level, height=0.1 * level.max(), distance=int(0.2 * RATE))
    return found


@functools.lru_cache(maxsize=4)
def music(bpm: float, camelot: int, seed: int) -> Track:
    r = render(
        "house", bpm, Key.from_camelot(camelot, "A"), intro_bars=2, main_bars=12, outro_bars=2,
        seed=seed, lead_in_s=0.25,
    )  # fmt: skip
    stereo = np.repeat(r.audio[:, None], 2, axis=1)
    return Track(stereo, r.bpm, r.first_downbeat_s + 0.25)


def test_loudness_of_a_sine_follows_bs1770() -> None:
    # BS.1770: a 997 Hz sine at full scale in one channel reads −3.01 LKFS; the 48 kHz
    # K-weighting coefficients are the standard's.
    for rate in (44100, 48000):
        t = np.arange(5 * rate) / rate
        assert loudness(np.sin(2 * np.pi * 997 * t), rate) == pytest.approx(-3.01, abs=0.05)
        stereo = 0.1 * np.stack([np.sin(2 * np.pi * 997 * t)] * 2, axis=1)
        assert loudness(stereo, rate) == pytest.approx(-20.0, abs=0.05)
    np.testing.assert_allclose(
        k_weighting(48000)[:, [0, 1, 2, 4, 5]],
        [
            [1.53512485958697, -2.69169618940638, 1.19839281085285, -1.69065929318241,
             0.73248077421585],
            [1.0, -2.0, 1.0, -1.99004745483398, 0.99007225036621],
        ],
        atol=1e-9,
    )  # fmt: skip


@pytest.mark.parametrize("pitch_lock", [False, True])
def test_incoming_beats_land_on_outgoing_beats_at_the_outgoing_tempo(pitch_lock: bool) -> None:
    a = Track(clicks(124.0, 0.5, 60.0), 124.0, 0.5)
    b = Track(clicks(128.0, 0.3, 60.0), 128.0, 0.3)
    deck = prepare(a)
    tr = transition(deck, b, bars=8, pitch_lock=pitch_lock)
    assert tr.beatmatched and tr.note == ""
    audio, lead, stem_a, stem_b = preview(deck, tr, stems=True)
    assert 30 * RATE <= len(audio) <= 60 * RATE
    # Bar 1 of B on a downbeat of A at a phrase boundary of A.
    bar_a = 4 * 60 / 124 * RATE
    bars_in = (tr.start - 0.5 * RATE) / bar_a
    assert bars_in == pytest.approx(round(bars_in), abs=1e-3) and round(bars_in) % 8 == 0
    blend = slice(lead, lead + tr.length)
    beats_b = pulses(stem_b[blend])
    beat_a = 60 / 124 * RATE
    grid_a = np.arange(0, tr.length, beat_a)  # A's beats in the blend: its start is on a downbeat
    assert len(beats_b) >= 24
    offsets = [np.min(np.abs(grid_a - p)) for p in beats_b]
    assert max(offsets) / RATE < 0.010
    # A's own pulses before the blend sit on the same grid (the grid is where the audio says).
    beats_a = pulses(stem_a[:lead]) - lead
    assert len(beats_a) >= 8
    assert max(abs(p / beat_a - round(p / beat_a)) * beat_a for p in beats_a) / RATE < 0.010
    # B plays at A's tempo within 0.1 %.
    measured = 60 * RATE / np.diff(beats_b).mean()
    assert measured == pytest.approx(124.0, rel=0.001)
    assert tr.speed == pytest.approx(124 / 128)


def test_music_is_loudness_matched_and_never_clips() -> None:
    quiet = music(124.0, 8, 1)
    quiet = Track(quiet.audio * np.float32(0.2), quiet.bpm, quiet.first_beat_s)
    loud = music(126.0, 9, 2)
    deck = prepare(quiet)
    tr = transition(deck, loud, bars=4)
    assert tr.beatmatched
    audio, lead = preview(deck, tr, seconds=30.0)
    assert np.abs(audio).max() < 1.0
    before = audio[:lead]
    after = audio[lead + tr.length :]
    assert loudness(before, RATE) == pytest.approx(TARGET_LUFS, abs=1.0)
    assert loudness(after, RATE) == pytest.approx(TARGET_LUFS, abs=1.0)


def test_a_track_without_a_grid_gets_a_plain_crossfade_and_says_so() -> None:
    a = Track(clicks(124.0, 0.5, 40.0), 124.0, 0.5)
    b = Track(clicks(128.0, 0.3, 40.0))  # no grid
    deck = prepare(a)
    tr = transition(deck, b)
    assert not tr.beatmatched and "no beat grid" in tr.note
    assert tr.speed == 1.0
    far = Track(clicks(90.0, 0.3, 40.0), 90.0, 0.3)
    tr = transition(deck, far)
    assert not tr.beatmatched and "too far apart" in tr.note
    audio, _lead = preview(deck, tr)
    assert np.abs(audio).max() < 1.0


def test_a_double_time_track_is_matched_beat_for_two_beats() -> None:
    a = Track(clicks(87.0, 0.4, 60.0), 87.0, 0.4)
    b = Track(clicks(172.0, 0.2, 60.0), 172.0, 0.2)
    deck = prepare(a)
    tr = transition(deck, b, bars=4)
    assert tr.beatmatched and tr.speed == pytest.approx(174 / 172)
    assert len(tr.incoming.audio) >= tr.length
    _audio, lead, _a, stem_b = preview(deck, tr, stems=True)
    beats_b = pulses(stem_b[lead : lead + tr.length])
    half_beat_a = 30 / 87 * RATE
    assert len(beats_b) >= 20
    assert max(abs(p / half_beat_a - round(p / half_beat_a)) * half_beat_a for p in beats_b) < 441


def test_keylock_keeps_the_pitch_where_the_pitch_fader_moves_it() -> None:
    t = np.arange(10 * RATE) / RATE
    tone = np.stack([0.5 * np.sin(2 * np.pi * 440 * t)] * 2, axis=1).astype(np.float32)
    n = round(8 * RATE)

    def peak_hz(x: np.ndarray) -> float:
        part = x[RATE : 7 * RATE, 0] * np.hanning(6 * RATE)
        return float(np.argmax(np.abs(np.fft.rfft(part)))) / 6

    locked = keylock(tone, 0.0, 1.04, 1.04, n)
    assert peak_hz(locked) == pytest.approx(440, abs=1)
    assert peak_hz(ride(tone, 0.0, 1.04, 1.04, n)) == pytest.approx(440 * 1.04, abs=1)
    assert np.sqrt((locked[RATE:-RATE] ** 2).mean()) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_a_mix_holds_a_few_tracks_whatever_its_length() -> None:
    audio = clicks(124.0, 0.5, 30.0)

    def peak(count: int) -> tuple[int, int]:
        loaders = [(i, lambda: Track(audio.copy(), 124.0, 0.5)) for i in range(count)]
        tracemalloc.start()
        frames, played = 0, []  # a caller keeps what it is told about each track (the cue sheet)
        for item in mix_blocks(loaders, bars=4):
            if isinstance(item, np.ndarray):
                frames += len(item)
            else:
                played.append(item)
        _, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return top, frames

    few, few_frames = peak(3)
    many, many_frames = peak(9)
    assert many_frames > 2.5 * few_frames
    assert many < 1.2 * few


def test_the_bass_swaps_at_the_middle_of_the_blend() -> None:
    def with_bass(bpm: float, first: float) -> Track:
        audio = clicks(bpm, first, 60.0)
        t = np.arange(len(audio)) / RATE
        audio += (0.3 * np.sin(2 * np.pi * 55 * t))[:, None].astype(np.float32)
        return Track(audio, bpm, first)

    deck = prepare(with_bass(124.0, 0.5))
    tr = transition(deck, with_bass(126.0, 0.3), bars=8)
    _audio, lead, stem_a, stem_b = preview(deck, tr, stems=True)
    a, b = stem_a[lead : lead + tr.length], stem_b[lead : lead + tr.length]
    quarter = tr.length // 4

    def bass(x: np.ndarray) -> float:  # level at 55 Hz, by correlation with the tone
        t = np.arange(len(x)) / RATE
        return float(np.abs(np.mean(x[:, 0] * np.exp(-2j * np.pi * 55 * t))))

    # Just before the middle the outgoing bass is whole and the incoming one absent; just after, the
    # other way round (the highs cross-fade smoothly around them).
    before, after = slice(quarter, 2 * quarter - 2000), slice(2 * quarter + 2000, 3 * quarter)
    assert bass(a[before]) > 10 * bass(b[before])
    assert bass(b[after]) > 10 * bass(a[after])


def test_keylock_keeps_the_level_up_to_the_last_frame() -> None:
    # The overlap-add needs a frame past the end: without it the last part of a hop faded out, a
    # dropout of up to 23 ms where the blend hands over to the ride and the ride to the track.
    t = np.arange(10 * RATE) / RATE
    tone = np.stack([0.5 * np.sin(2 * np.pi * 440 * t)] * 2, axis=1).astype(np.float32)
    level = 0.5 / np.sqrt(2)
    for n in (8 * RATE, 8 * RATE + 700, 4096):
        for speeds in ((1.04, 1.04), (0.97, 1.0)):
            locked = keylock(tone, 100.0, *speeds, n)
            assert len(locked) == n
            tail = locked[-441:, 0]  # the last 10 ms
            assert np.sqrt((tail**2).mean()) == pytest.approx(level, rel=0.1), (n, speeds)


def test_a_keylocked_deck_has_no_dropout_where_the_blend_and_the_ride_end() -> None:
    t = np.arange(60 * RATE) / RATE
    tone = np.stack([0.3 * np.sin(2 * np.pi * 330 * t)] * 2, axis=1).astype(np.float32)
    deck = prepare(Track(clicks(124.0, 0.5, 60.0), 124.0, 0.5))
    tr = transition(deck, Track(tone, 128.0, 0.3), bars=8, pitch_lock=True)
    assert tr.beatmatched
    audio = tr.incoming.audio[:, 0]
    steps = np.abs(np.diff(audio))
    smooth = steps[tr.length + 5000 : tr.length + 50000].max()  # a sine's largest step
    for edge in (tr.length, tr.incoming.free_from):
        windows = audio[edge - 2205 : edge + 2205].reshape(-1, 441)  # 10 ms windows around it
        rms = np.sqrt((windows**2).mean(axis=1))
        assert rms.min() > 0.8 * rms.max(), edge
        # Nor a jump in the waveform (a click): blend and ride are one pass, and the track resumes
        # where it continues the ride's waveform.
        assert steps[edge - 300 : edge + 300].max() < 1.5 * smooth, edge


@pytest.mark.parametrize("pitch_lock", [False, True])
def test_the_incoming_deck_keeps_its_grid_after_the_ride(pitch_lock: bool) -> None:
    deck = prepare(Track(clicks(124.0, 0.5, 60.0), 124.0, 0.5))
    tr = transition(
        deck, Track(clicks(128.0, 0.3, 60.0), 128.0, 0.3), bars=8, pitch_lock=pitch_lock
    )
    b = tr.incoming
    assert b.downbeat is not None and b.bar is not None
    found = pulses(b.audio[b.free_from :]) + b.free_from
    beat = b.bar / 4
    assert len(found) >= 16
    off = [abs((p - b.downbeat) / beat - round((p - b.downbeat) / beat)) * beat for p in found]
    assert max(off) / RATE < 0.003


@pytest.mark.parametrize("pitch_lock", [False, True])
def test_a_transition_copies_the_incoming_track_once(pitch_lock: bool) -> None:
    # The new deck is the only full-length copy made: the gain and the splice write no second one.
    a = Track(clicks(124.0, 0.5, 120.0), 124.0, 0.5)
    b = Track(clicks(128.0, 0.3, 120.0), 128.0, 0.3)
    size = b.audio.nbytes
    tracemalloc.start()
    try:
        deck = prepare(a)
        _, prepared = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        tr = transition(deck, b, bars=8, pitch_lock=pitch_lock)
        _, top = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert tr.beatmatched
    assert prepared < 1.2 * size
    assert top - deck.audio.nbytes < 1.5 * size  # the new deck and a blend's worth of working space


def test_each_blend_is_as_long_as_the_sets_tip_says() -> None:
    a = Track(clicks(124.0, 0.5, 180.0), 124.0, 0.5)
    bar_a = 4 * 60 / 124 * RATE
    deck = prepare(a)
    for technique, bars in (("long_blend", 32), ("short_blend", 16), (None, 16)):
        b = Track(clicks(125.0, 0.3, 180.0), 125.0, 0.3, technique=technique)
        tr = transition(deck, b)
        assert tr.beatmatched and tr.length == pytest.approx(bars * bar_a, abs=1), technique
    long_in = Track(clicks(125.0, 0.3, 180.0), 125.0, 0.3, technique="long_blend")
    assert transition(deck, long_in, bars=8).length == pytest.approx(8 * bar_a, abs=1)  # overridden
    # A radio edit too short for a long blend and the ride back gets a shorter blend, and says so.
    edit = Track(clicks(125.0, 0.3, 100.0), 125.0, 0.3, technique="long_blend")
    tr = transition(deck, edit)
    assert tr.beatmatched and tr.length == pytest.approx(16 * bar_a, abs=1)
    assert tr.note == "16 bars, not 32: the tracks are too short for a longer blend"


@pytest.mark.parametrize("technique", ["cut", "echo_out"])
def test_a_cut_or_an_echo_out_drops_the_next_track_in_at_its_own_tempo_on_a_phrase(
    technique: str,
) -> None:
    a = Track(clicks(124.0, 0.5, 60.0), 124.0, 0.5)
    b = Track(clicks(138.0, 0.3, 60.0), 138.0, 0.3, technique=technique)  # 11 % apart
    deck = prepare(a)
    tr = transition(deck, b)
    assert not tr.beatmatched and tr.technique == technique and tr.speed == 1.0
    assert "dropped in" in tr.note and "phrase boundary" in tr.note
    bar_a = 4 * 60 / 124 * RATE
    bars_in = (tr.start - 0.5 * RATE) / bar_a
    assert bars_in == pytest.approx(round(bars_in), abs=1e-3) and round(bars_in) % 8 == 0
    expected = round(0.25 * RATE) if technique == "cut" else round(2 * bar_a)
    assert tr.length == expected
    audio, lead, stem_a, stem_b = preview(deck, tr, stems=True)
    assert np.abs(audio).max() < 1.0
    # B's beats count from the phrase downbeat (the first may be under the fade), at B's own tempo.
    beats_b = pulses(stem_b[lead:])
    beat_b = 60 / 138 * RATE
    assert beats_b[0] < beat_b + 0.010 * RATE
    assert max(abs(p - round(p / beat_b) * beat_b) for p in beats_b[:16]) / RATE < 0.010
    measured = 60 * RATE / np.diff(beats_b[:16]).mean()
    assert measured == pytest.approx(138.0, rel=0.001)
    if technique == "echo_out":
        # A's last beat repeats on A's beat, each repeat quieter, and nothing of A plays after.
        beat = round(bar_a / 4)
        echo = np.abs(stem_a[lead : lead + tr.length]).max(axis=1)
        repeats = [echo[k * beat : (k + 1) * beat].max() for k in range(4)]
        assert all(later < earlier for earlier, later in itertools.pairwise(repeats))
        assert repeats[0] > 0.2
        assert np.abs(stem_a[lead + tr.length :]).max() == 0.0


def test_a_long_blends_preview_stops_at_a_minute_after_its_bass_swap() -> None:
    a = Track(clicks(120.0, 0.5, 180.0), 120.0, 0.5)
    b = Track(clicks(121.0, 0.3, 180.0), 121.0, 0.3, technique="long_blend")  # 32 bars: 64 s
    deck = prepare(a)
    tr = transition(deck, b)
    assert tr.length / RATE == pytest.approx(64.0, abs=0.01)
    audio, lead = preview(deck, tr)
    assert len(audio) == 60 * RATE and lead == 4 * RATE
    assert lead + tr.length // 2 < len(audio)  # the swap is heard
