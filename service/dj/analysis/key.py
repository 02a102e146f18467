"""Key from the audio: a log-frequency chroma of the tonal content, matched against 24 key profiles.

1. **Spectrum.** The signal at 11,025 Hz, 8,192-point Hann windows (1.3 Hz bins, fine enough for bass
   notes a semitone apart at 41 Hz), hop 4,096.
2. **Pitch.** Bins are mapped onto semitones from E1 to B6 (triangular weights), after estimating the
   track's tuning from where its spectral peaks sit against A = 440 Hz (vinyl rips and detuned
   productions are off by up to half a semitone).
3. **Tonal content.** Each frame is log-compressed and what stands above the median of the
   surrounding semitones is kept, at spectral peaks only: drums and noise are broadband and drop
   out, notes are peaks.
4. **Chroma.** Each pitch gathers its harmonics (subharmonic summation, as in HPCP), then pitches
   from E2 up are folded into 12 pitch classes and summed over the whole track, so frames with more
   tonal energy weigh more (an EDM track's key is the key of the whole track).
5. **Profiles.** The chroma is correlated with a major and a minor profile rotated to all 12 tonics
   (Krumhansl–Kessler: chosen over Temperley's and tonic-weighted variants on the generated corpus,
   see ``bench/analysis.py``). The best key wins; the runner-up is reported, and the confidence grows
   with the gap between the two correlations. Misses are mostly the relative or parallel key.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import maximum_filter, median_filter
from scipy.signal import resample_poly

from service.dj.keys import Key

__all__ = ["KeyEstimate", "estimate_key"]

_RATE_DIV = 2  # from the 22,050 Hz analysis rate
_N_FFT = 8192
_HOP = 4096
_MIDI_LO, _MIDI_HI = 28, 95  # E1 … B6
_CHUNK = 256
# Chroma from E2 up: below, sub-bass and the kick's tail blur more than they tell.
_CHROMA_LO = 40
_HARMONIC_WEIGHT = 0.8

# Krumhansl–Kessler probe-tone profiles, tonic first. On generated corpora they beat Temperley's
# (with or without a heavier tonic) and a bass-chroma tonic vote (see ``bench/analysis.py``).
MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


@dataclass(frozen=True)
class KeyEstimate:
    """The detected key, its confidence (0–1), the runner-up, and the chroma it came from."""

    key: Key
    confidence: float
    runner_up: Key
    chroma: np.ndarray  # 12 values, C first, summing to 1
    tonal_per_frame: np.ndarray  # tonal energy of each frame (for arrangement analysis)
    frame_rate: float


def _pitch_map(tuning: float, rate: int) -> np.ndarray:
    """Weights (pitches × bins) from FFT bins to semitones, centred ``tuning`` semitones off A440."""
    freqs = np.fft.rfftfreq(_N_FFT, 1.0 / rate)
    midi = np.full(len(freqs), -100.0)
    midi[1:] = 69 + 12 * np.log2(freqs[1:] / 440.0) - tuning
    pitches = np.arange(_MIDI_LO, _MIDI_HI + 1)
    weights = np.maximum(0.0, 1.0 - np.abs(midi[None, :] - pitches[:, None]))
    return weights.astype(np.float32)


def _spectrum(samples: np.ndarray) -> tuple[np.ndarray, int]:
    """Magnitude spectrogram (bins × frames) at the key analysis rate."""
    from numpy.lib.stride_tricks import sliding_window_view

    x = resample_poly(samples, 1, _RATE_DIV).astype(np.float32)
    if len(x) < _N_FFT:
        x = np.pad(x, (0, _N_FFT - len(x)))
    frames = sliding_window_view(x, _N_FFT)[::_HOP]
    window = np.hanning(_N_FFT).astype(np.float32)
    mags = np.empty((_N_FFT // 2 + 1, len(frames)), dtype=np.float32)
    for lo in range(0, len(frames), _CHUNK):
        mags[:, lo : lo + _CHUNK] = np.abs(np.fft.rfft(frames[lo : lo + _CHUNK] * window, axis=1)).T
    return mags, 22050 // _RATE_DIV


def _tuning(mags: np.ndarray, rate: int) -> float:
    """Deviation in semitones (−0.5…0.5) of the tonal peaks from the A440 grid.

    A circular mean of each bin's offset from its nearest semitone, over 150–3,000 Hz (where bins
    are narrower than a sixth of a semitone), weighted by how far the bin stands above its
    neighbourhood squared, so noise and drums count for nothing.
    """
    mean = mags.mean(axis=1)
    freqs = np.fft.rfftfreq(_N_FFT, 1.0 / rate)
    band = (freqs > 150) & (freqs < 3000)
    above = np.maximum(mean - median_filter(mean, size=31, mode="nearest"), 0.0)[band]
    if not above.any():
        return 0.0
    dev = 69 + 12 * np.log2(freqs[band] / 440.0)
    angle = np.angle(np.sum(above**2 * np.exp(2j * np.pi * dev)))
    return float(angle / (2 * np.pi))


def _scores(chroma: np.ndarray) -> np.ndarray:
    """Correlation of ``chroma`` with each key profile: index pitch class + 12 if minor."""
    out = np.empty(24)
    c = chroma - chroma.mean()
    for minor, profile in ((False, MAJOR_PROFILE), (True, MINOR_PROFILE)):
        for pc in range(12):
            p = np.roll(profile, pc)
            p = p - p.mean()
            out[pc + 12 * minor] = float(c @ p / (np.linalg.norm(c) * np.linalg.norm(p) + 1e-12))
    return out


def estimate_key(samples: np.ndarray) -> KeyEstimate | None:
    """The key of mono ``samples`` at 22,050 Hz; None when there is no tonal content."""
    mags, rate = _spectrum(samples)
    tuning = _tuning(mags, rate)
    pitch = _pitch_map(tuning, rate) @ mags  # pitches × frames
    peak = float(pitch.max())
    if peak <= 0:
        return None
    logp = np.log1p(pitch * (1e3 / peak))  # 30 dB of range
    tonal = np.maximum(logp - median_filter(logp, size=(13, 1), mode="nearest"), 0.0)
    # Only spectral peaks along pitch: a note's skirt would leak into the next semitone.
    tonal = np.where(pitch >= maximum_filter(pitch, size=(3, 1), mode="nearest"), tonal, 0.0)
    per_frame = tonal.sum(axis=0)
    if per_frame.sum() <= 1e-6:
        return None
    # Subharmonic summation: each pitch also gathers its 2nd–4th harmonics (weights 0.8^(h−1)), so
    # a note's overtones (a saw's major third two octaves up) count for the note, not for a key.
    salience = tonal.copy()
    for h in (2, 3, 4):
        shift = round(12 * np.log2(h))
        salience[:-shift] += _HARMONIC_WEIGHT ** (h - 1) * tonal[shift:]
    midi = np.arange(_MIDI_LO, _MIDI_HI + 1)
    keep = midi >= _CHROMA_LO
    chroma = np.bincount(midi[keep] % 12, weights=salience[keep].sum(axis=1), minlength=12)
    chroma = chroma / chroma.sum()
    scores = _scores(chroma)
    order = np.argsort(scores)[::-1]
    best, second = int(order[0]), int(order[1])
    gap = scores[best] - scores[second]
    confidence = float(np.clip(scores[best], 0.0, 1.0) * (1.0 - np.exp(-gap / 0.04)))
    return KeyEstimate(
        key=Key(best % 12, minor=best >= 12),
        confidence=round(confidence, 2),
        runner_up=Key(second % 12, minor=second >= 12),
        chroma=chroma,
        tonal_per_frame=per_frame,
        frame_rate=rate / _HOP,
    )
