"""Tempo in the DJ's octave, to two decimals, and the beat grid (first downbeat and bar phase).

1. **Periodicity.** The onset envelope (spectral flux, local mean removed) is autocorrelated; each
   tempo from 60 to 200 BPM scores the autocorrelation at its beat lag and the next three multiples
   (a comb), which favours the pulse the whole pattern repeats on.
2. **Octave.** The best pulse is folded into 70–140 BPM. Above 100 it is the tempo (house, techno,
   trance). Below 100 the same pulse may be hip-hop or downtempo at 70–100 *or* drum & bass, dubstep
   or fast trance counted at half speed (DJs say 174, not 87). What decides is whether the drums' body
   (snare, bass, the kick's click: 150–2,500 Hz, quieter than 30 dB below its peak ignored) also repeats at half the beat lag: a four-on-the-floor kick or a
   drum & bass kick–snare does, a hip-hop backbeat does not (its kicks and snares are a beat apart at
   the slow tempo). Below 76 BPM, where half-time dubstep lives, dense upper drums (hats repeating at
   half the lag) also double the tempo.
3. **Decimals and grid.** Around that tempo (±2 %), the envelope is folded at each candidate period
   and the sharpest fold wins; then each beat's onset peak is located and a weighted straight line
   through (beat number, peak time) gives the period and the phase to a fraction of a frame.
   A tempo within 0.03 BPM of a whole number is that number (the fit's noise on produced music).
4. **Downbeat.** Of the four beats of a bar, the one where the sound (band spectrum 100–4,000 Hz)
   rises most from the two beats before to the two beats after, plus a little kick weight, starts the bar: chords, bass notes
   and arrangement sections change on downbeats.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from service.dj.analysis.spectral import Bands

__all__ = ["Grid", "estimate_grid"]

MIN_BPM, MAX_BPM = 60.0, 200.0
# Threshold on body(half lag) / body(lag) above which the faster octave is the tempo.
DOUBLE_RATIO = 0.62
HALF_TIME_BPM = 76.0
# The drums' body for the octave choice: snare, bass, the click of the kick (its sub is ambiguous).
BODY_HZ = (150.0, 2500.0)
# Produced music is mostly at whole tempos: a fit this close to one is that tempo (fit noise).
WHOLE_BPM_SNAP = 0.03
# Spectral flux peaks this early against the true onset (Hann window of 2,048 at 22,050 Hz).
ONSET_LAG_S = 0.034


@dataclass(frozen=True)
class Grid:
    """Tempo, its confidence, and the beat grid."""

    bpm: float
    confidence: float  # 0–1
    first_beat_s: float  # time of the first downbeat at or after the music starts
    beat_s: float  # seconds per beat (60 / bpm)
    beats: np.ndarray  # beat times in seconds covering the whole track (may start before 0)
    downbeat_index: int  # index in ``beats`` of a downbeat


def _prepare(env: np.ndarray, frame_rate: float) -> np.ndarray:
    """Remove the local mean (about one second) and clip below zero."""
    width = max(3, int(frame_rate))
    kernel = np.ones(width) / width
    local = np.convolve(env, kernel, mode="same")
    out = np.maximum(env - local, 0.0)
    scale = out.std()
    return out / scale if scale > 0 else out


def _autocorr(env: np.ndarray, max_lag: int) -> np.ndarray:
    n = len(env)
    x = env - env.mean()
    spec = np.fft.rfft(x, 2 * n)
    ac = np.fft.irfft(spec.real**2 + spec.imag**2)[: max_lag + 1]
    return ac / ac[0] if ac[0] > 0 else ac


def _at(ac: np.ndarray, lag: float) -> float:
    """The autocorrelation near ``lag``: the best value within ±2 % (tempo wobbles, frame rounding)."""
    lo = max(1, int(np.floor(lag * 0.98)))
    hi = min(len(ac) - 1, int(np.ceil(lag * 1.02)))
    return float(ac[lo : hi + 1].max()) if hi >= lo else 0.0


def _comb_best(ac: np.ndarray, frame_rate: float) -> tuple[float, float]:
    """Best pulse in BPM by the comb score, and the score's prominence over the median (0–1)."""
    bpms = np.arange(MIN_BPM, MAX_BPM + 0.01, 0.5)
    lags = 60.0 * frame_rate / bpms
    scores = np.zeros(len(bpms))
    for k, w in ((1, 1.0), (2, 0.6), (3, 0.4), (4, 0.3)):
        idx = lags * k
        ok = idx < len(ac) - 1
        lo = np.floor(idx[ok]).astype(int)
        frac = idx[ok] - lo
        scores[ok] += w * (ac[lo] * (1 - frac) + ac[lo + 1] * frac)
    best = int(np.argmax(scores))
    spread = scores.max() - np.median(scores)
    return float(bpms[best]), float(np.clip(spread / 1.2, 0.0, 1.0))


def _half_lag_ratio(ac: np.ndarray, lag: float) -> float:
    """How strongly ``ac`` repeats at half of ``lag`` compared with at ``lag`` (0–1)."""
    half, full = _at(ac, lag / 2), _at(ac, lag)
    return max(half, 0.0) / max(half, full, 1e-6)


def _choose_octave(
    pulse: float, body_ac: np.ndarray, high_ac: np.ndarray, frame_rate: float
) -> float:
    base = pulse
    while base >= 140.0:
        base /= 2
    while base < 70.0:
        base *= 2
    if base >= 100.0:
        return base
    lag = 60.0 * frame_rate / base
    if _half_lag_ratio(body_ac, lag) >= DOUBLE_RATIO:
        return base * 2
    if base < HALF_TIME_BPM and _half_lag_ratio(high_ac, lag) >= 0.8:
        return base * 2
    return base


def _fold_score(env: np.ndarray, period: float, bins: int = 48) -> tuple[float, float]:
    """Sharpness of the envelope folded at ``period`` frames, and the phase (frames) of its peak."""
    t = np.arange(len(env))
    phase = (t % period) / period
    idx = np.minimum((phase * bins).astype(int), bins - 1)
    hist = np.bincount(idx, weights=env, minlength=bins)
    smooth = hist + 0.5 * (np.roll(hist, 1) + np.roll(hist, -1))
    peak = int(np.argmax(smooth))
    return float(smooth[peak] / max(smooth.mean(), 1e-9)), (peak + 0.5) / bins * period


def _refine(env: np.ndarray, bpm: float, frame_rate: float) -> tuple[float, float]:
    """Period (frames) and phase (frames) of the grid near ``bpm``."""
    best = (-1.0, 0.0, 0.0)
    for step, span in ((0.002, 0.02), (0.0002, 0.002)):
        centre = 60.0 * frame_rate / bpm if best[0] < 0 else best[1]
        for rel in np.arange(-span, span + step / 2, step):
            period = centre * (1 + rel)
            score, phase = _fold_score(env, period)
            if score > best[0]:
                best = (score, period, phase)
    _, period, phase = best
    # Least squares through the onset peaks next to each predicted beat.
    n_beats = int((len(env) - phase) / period)
    if n_beats < 8:
        return period, phase
    k = np.arange(n_beats)
    predicted = phase + k * period
    half = max(1, int(period / 8))
    times, weights = [], []
    for p in predicted:
        lo, hi = int(p) - half, int(p) + half + 1
        if lo < 1 or hi >= len(env) - 1:
            times.append(np.nan)
            weights.append(0.0)
            continue
        seg = env[lo:hi]
        i = int(np.argmax(seg)) + lo
        a, b, c = env[i - 1], env[i], env[i + 1]
        denom = a - 2 * b + c
        offset = 0.5 * (a - c) / denom if denom < 0 else 0.0
        times.append(i + offset)
        weights.append(b)
    t_arr = np.array(times)
    w_arr = np.array(weights)
    ok = np.isfinite(t_arr) & (w_arr > np.percentile(w_arr, 50))
    if ok.sum() < 8:
        return period, phase
    w = w_arr[ok]
    slope, intercept = np.polyfit(k[ok], t_arr[ok], 1, w=np.sqrt(w))
    if abs(slope / period - 1) > 0.01:
        return period, phase
    return float(slope), float(intercept)


def _downbeat(bands: Bands, beat_frames: np.ndarray, onset_low: np.ndarray) -> int:
    """Which of the first four beats is a downbeat (index into ``beat_frames``)."""
    power = bands.power[bands.band_mask(100.0, 4000.0)]
    logp = np.log1p(power * (1e4 / max(float(power.max()), 1e-12)))  # 40 dB of range
    n = logp.shape[1]
    edges = np.clip(np.round(beat_frames).astype(int), 0, n)
    sync = [
        logp[:, a:b].mean(axis=1) if b > a else np.zeros(logp.shape[0])
        for a, b in itertools.pairwise(edges)
    ]
    if len(sync) < 9:
        return 0
    beat_spec = np.array(sync)
    # Rise from the two beats before to the two beats from here on: struck chords, entering parts
    # and new sections rise on a downbeat; a drum pattern repeating every two beats cancels out.
    c = np.cumsum(np.vstack([np.zeros(beat_spec.shape[1]), beat_spec]), axis=0)
    k = np.arange(2, len(beat_spec) - 1)
    after = c[k + 2] - c[k]
    before = c[k] - c[k - 2]
    novelty = np.zeros(len(beat_spec))
    novelty[k] = np.maximum(after - before, 0.0).sum(axis=1)
    kick = np.array([onset_low[max(0, e - 2) : e + 3].max() if e < n else 0.0 for e in edges[:-1]])
    kick = kick / max(kick.max(), 1e-9)
    novelty = novelty / max(novelty.max(), 1e-9)
    score = [novelty[j::4].mean() + 0.25 * kick[j::4].mean() for j in range(4)]
    return int(np.argmax(score))


def estimate_grid(bands: Bands, music_start_s: float = 0.0) -> Grid | None:
    """Tempo and grid from the band analysis; None when no steady pulse is found."""
    fr = bands.frame_rate
    env = _prepare(bands.onset, fr)
    if not env.any():
        return None
    max_lag = int(60.0 * fr / MIN_BPM * 4) + 2
    max_lag = min(max_lag, len(env) - 1)
    ac = _autocorr(env, max_lag)
    pulse, prominence = _comb_best(ac, fr)
    body_ac = _autocorr(_prepare(bands.flux(*BODY_HZ), fr), max_lag)
    high_ac = _autocorr(_prepare(bands.flux(5000.0, 20000.0), fr), max_lag)
    bpm = _choose_octave(pulse, body_ac, high_ac, fr)
    period, phase = _refine(env, bpm, fr)
    bpm = 60.0 * fr / period
    if abs(bpm - round(bpm)) <= WHOLE_BPM_SNAP:
        bpm = float(round(bpm))
    fold, _ = _fold_score(env, period)
    # Confidence: how sharp the fold is (a steady grid) and how prominent the comb's choice was.
    confidence = float(np.clip(0.5 * min(1.0, (fold - 1.0) / 2.0) + 0.5 * prominence, 0.0, 1.0))
    # Beats over the whole track, starting before 0 if the phase says so.
    first = phase - np.ceil(phase / period) * period
    beat_frames = np.arange(first, len(env) + period, period)
    beats = beat_frames / fr + ONSET_LAG_S
    lead = _downbeat(bands, beat_frames[beat_frames >= 0], bands.onset_low)
    offset = int(np.sum(beat_frames < 0))
    down_index = offset + lead
    # First downbeat at or after the music starts (a quarter beat of slack for early peaks).
    start = music_start_s - 0.25 * period / fr
    down_times = beats[down_index % 4 :: 4]
    after = down_times[down_times >= start]
    first_down = float(after[0]) if len(after) else float(down_times[-1])
    return Grid(
        bpm=round(bpm, 2),
        confidence=round(confidence, 2),
        first_beat_s=round(max(0.0, first_down), 3),
        beat_s=period / fr,
        beats=beats,
        downbeat_index=down_index % 4,
    )
