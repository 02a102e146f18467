"""Decoding at full quality for rendering, tempo changes, the bass split and the output limiter.

The analysis decodes to mono at 22,050 Hz; a mix needs stereo at 44.1 kHz, so this reads the file
again through libsndfile (FFmpeg through PyAV for MP4 audio, as the analysis does).
"""

from __future__ import annotations

import math
import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, correlate, resample_poly, sosfiltfilt

from service.dj.analysis.decode import MAX_SECONDS, DecodeError
from service.dj.analysis.decode import decode as decode_mono

__all__ = ["RATE", "bass_split", "keylock", "limit", "load", "ride", "splice", "stretch"]

#: Sample rate of every render.
RATE = 44100
#: Where the bass swap splits lows from the rest.
BASS_HZ = 180.0
#: The soft limiter starts here (−0.9 dBFS) and never reaches full scale.
LIMIT_FROM = 0.9
_FFMPEG_ONLY = frozenset({".m4a", ".mp4", ".aac", ".alac"})


def load(path: str | os.PathLike[str], rate: int = RATE) -> np.ndarray:
    """Stereo float32 frames × 2 of ``path`` at ``rate``; raises :class:`DecodeError`."""
    name = os.fspath(path)
    if not Path(name).is_file():
        raise DecodeError("no such file")
    if Path(name).suffix.lower() in _FFMPEG_ONLY:
        mono = decode_mono(name, rate)
        return np.repeat(mono[:, None], 2, axis=1)
    try:
        with sf.SoundFile(name) as f:
            native = f.samplerate
            if f.frames / native > MAX_SECONDS:
                raise DecodeError(f"longer than {MAX_SECONDS // 60} minutes: not a track")
            audio = f.read(dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise DecodeError(f"the audio could not be decoded ({exc})") from None
    if len(audio) == 0:
        raise DecodeError("the file holds no audio")
    audio = audio[:, :2] if audio.shape[1] >= 2 else np.repeat(audio, 2, axis=1)
    if native != rate:
        g = math.gcd(native, rate)
        audio = resample_poly(audio, rate // g, native // g, axis=0).astype(np.float32)
    if not np.all(np.isfinite(audio)):
        raise DecodeError("the audio holds invalid samples")
    return np.ascontiguousarray(audio)


def stretch(audio: np.ndarray, speed: float) -> np.ndarray:
    """``audio`` played ``speed`` times as fast, as a turntable's pitch fader does (the pitch moves
    with the tempo): a polyphase resampler at a ratio within 1e-6 of ``speed``."""
    if abs(speed - 1.0) < 1e-9:
        return audio
    ratio = Fraction(speed).limit_denominator(4000)  # source samples per output sample
    out = resample_poly(audio, ratio.denominator, ratio.numerator, axis=0)
    return out.astype(np.float32)


def ride(audio: np.ndarray, start: float, speed_from: float, speed_to: float, n: int) -> np.ndarray:
    """``n`` output frames read from ``audio`` at source position ``start`` with the speed moving
    linearly from ``speed_from`` to ``speed_to`` (a DJ riding the pitch back); linear interpolation,
    for the few bars the ride lasts."""
    speeds = np.linspace(speed_from, speed_to, n, endpoint=False)
    positions = start + np.concatenate(([0.0], np.cumsum(speeds[:-1])))
    first = max(int(start), 0)
    audio = audio[first : int(positions[-1]) + 2] if n else audio[:0]
    positions = positions - first
    index = np.arange(len(audio))
    return np.stack(
        [np.interp(positions, index, audio[:, c], right=0.0) for c in range(audio.shape[1])], axis=1
    ).astype(np.float32)


def bass_split(audio: np.ndarray, rate: int = RATE) -> tuple[np.ndarray, np.ndarray]:
    """(lows, rest) of ``audio``: zero-phase low-pass below :data:`BASS_HZ`; they sum to ``audio``."""
    if len(audio) < 64:
        return np.zeros_like(audio), audio
    sos = butter(4, BASS_HZ, btype="lowpass", fs=rate, output="sos")
    lows = sosfiltfilt(sos, audio, axis=0).astype(np.float32)
    return lows, audio - lows


def limit(audio: np.ndarray) -> np.ndarray:
    """A memoryless soft limiter: unchanged below :data:`LIMIT_FROM`, never at full scale above."""
    x = np.asarray(audio, dtype=np.float32)
    over = np.abs(x) > LIMIT_FROM
    if not over.any():
        return x
    y = x.copy()
    head = 1.0 - LIMIT_FROM
    y[over] = np.sign(x[over]) * (
        LIMIT_FROM + head * 0.999 * np.tanh((np.abs(x[over]) - LIMIT_FROM) / head)
    )
    return y


#: Keylock frames (46 ms at 44.1 kHz), half overlapping; the search moves a frame by at most 5.8 ms.
_WSOLA_FRAME = 2048
_WSOLA_TOLERANCE = 256


def keylock(
    audio: np.ndarray, start: float, speed_from: float, speed_to: float, n: int, hold: int = 0
) -> np.ndarray:
    """Like :func:`ride` but the pitch stays put (a CDJ's keylock): WSOLA, waveform-similarity
    overlap-add. Each 46 ms Hann frame is taken near where the speed says, moved by up to 5.8 ms to
    the place most like the natural continuation of the frame before, and overlap-added at half a
    frame's hop; beats stay within that tolerance of where plain resampling puts them. The first
    ``hold`` output frames play at ``speed_from``, the speed then moves to ``speed_to`` by frame ``n``:
    a blend and the ride after it in one pass, so no seam between them."""
    frame, hop, tol = _WSOLA_FRAME, _WSOLA_FRAME // 2, _WSOLA_TOLERANCE
    window = np.hanning(frame + 1)[:-1].astype(np.float32)[:, None]  # periodic: sums to 1 at 50 %
    channels = audio.shape[1]
    padded = np.concatenate(
        [
            np.zeros((frame + tol, channels), np.float32),
            audio,
            np.zeros((2 * frame + tol, channels), np.float32),
        ]
    )
    offset = frame + tol  # padded index of source frame 0
    mono = padded.mean(axis=1)
    out = np.zeros((n + frame, channels), np.float32)
    # Frames go on one hop past the end (at ``speed_to``): every output frame then has both of its
    # overlapping windows, and the last ones do not fade out.
    hold = min(max(hold, 0), n)
    speeds = np.concatenate(
        [
            np.full(hold, speed_from),
            np.linspace(speed_from, speed_to, max(n - hold, 1), endpoint=False),
            np.full(hop, speed_to),
        ]
    )
    positions = start + np.concatenate(([0.0], np.cumsum(speeds[:-1])))
    previous = None
    for j in range(0, n + hop, hop):
        nominal = round(positions[j] - frame / 2) + offset  # frame centred on the position
        nominal = min(max(nominal, tol), len(padded) - frame - tol)
        if previous is None:
            chosen = nominal
        else:
            follow = mono[previous + hop : previous + hop + frame]
            region = mono[nominal - tol : nominal + tol + frame]
            score = correlate(region, follow, mode="valid", method="fft")
            chosen = nominal - tol + int(np.argmax(score))
        previous = chosen
        at = j - frame // 2
        seg = padded[chosen : chosen + frame] * window
        lo = max(at, 0)
        out[lo : at + frame] += seg[lo - at :]
    return out[:n]


def splice(source: np.ndarray, played: np.ndarray, at: int, width: int = 1024) -> int:
    """The frame of ``source`` within :data:`_WSOLA_TOLERANCE` of ``at`` from which it continues the
    last ``width`` frames of ``played`` most alike (normalised cross-correlation): where a keylocked
    part hands over to the track at its own tempo, WSOLA has left the waveform up to 5.8 ms off."""
    tol = _WSOLA_TOLERANCE
    lo = at - width - tol
    if lo < 0 or at + tol > len(source) or len(played) < width:
        return at
    tail = played[-width:].mean(axis=1).astype(np.float64)
    region = source[lo : at + tol].mean(axis=1).astype(np.float64)
    score = correlate(region, tail, mode="valid", method="direct")  # 2 * tol + 1 lags
    energy = np.convolve(region**2, np.ones(width), mode="valid")
    score = score / np.sqrt(np.maximum(energy, 1e-12))
    return at - tol + int(np.argmax(score))
