"""Decode an audio file to mono float32 at the analysis rate.

libsndfile (through ``soundfile``) reads WAV, AIFF, FLAC, Ogg Vorbis, Opus and MP3 itself; MP4
audio (AAC, ALAC), which libsndfile cannot read, goes through FFmpeg's libraries as PyAV ships them.
The file is read in blocks and mixed to mono as it is read, so a long stereo file never sits in
memory twice at full rate.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

__all__ = ["MAX_SECONDS", "SAMPLE_RATE", "DecodeError", "decode"]

#: Analysis sample rate: everything the analysers look at is below 11 kHz.
SAMPLE_RATE = 22050
#: Longer audio is a mix or a recording, not a track: refused before decoding (memory grows with
#: length: about 290 MB at peak for a 6-minute track, so an hour would need gigabytes).
MAX_SECONDS = 20 * 60
_BLOCK = 1 << 18
# Containers libsndfile cannot open; they go to FFmpeg straight away.
_FFMPEG_ONLY = frozenset({".m4a", ".mp4", ".aac", ".alac"})


class DecodeError(ValueError):
    """The file holds no audio we can decode; the message says why in a DJ's words."""


def _too_long(seconds: float) -> None:
    if seconds > MAX_SECONDS:
        raise DecodeError(
            f"{seconds / 60:.0f} minutes long: longer than {MAX_SECONDS // 60} minutes is a mix "
            "or a recording, not a track; not analysed"
        )


def _soundfile(path: str) -> tuple[np.ndarray, int]:
    with sf.SoundFile(path) as f:
        rate = f.samplerate
        if f.frames > 0:
            _too_long(f.frames / rate)
        parts = [
            block.mean(axis=1) if block.ndim == 2 else block
            for block in f.blocks(blocksize=_BLOCK, dtype="float32", always_2d=True)
        ]
    return (np.concatenate(parts) if parts else np.zeros(0, np.float32)), rate


def _ffmpeg(path: str, rate: int) -> tuple[np.ndarray, int]:
    import av  # only MP4 audio needs FFmpeg; keep its import off the common path

    parts: list[np.ndarray] = []
    try:
        with av.open(path) as container:
            if not container.streams.audio:
                raise DecodeError("the file has no audio stream")
            stream = container.streams.audio[0]
            if container.duration:
                _too_long(container.duration / av.time_base)
            resampler = av.AudioResampler(format="flt", layout="mono", rate=rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    parts.append(out.to_ndarray().reshape(-1))
            for out in resampler.resample(None):
                parts.append(out.to_ndarray().reshape(-1))
    except av.FFmpegError as exc:
        raise DecodeError(f"the audio could not be decoded ({exc})") from None
    return (np.concatenate(parts) if parts else np.zeros(0, np.float32)), rate


def decode(path: str | os.PathLike[str], rate: int = SAMPLE_RATE) -> np.ndarray:
    """Mono samples of ``path`` at ``rate`` Hz; raises :class:`DecodeError` for unreadable files."""
    name = os.fspath(path)
    if not Path(name).is_file():
        raise DecodeError("no such file")
    if Path(name).suffix.lower() in _FFMPEG_ONLY:
        samples, native = _ffmpeg(name, rate)
    else:
        try:
            samples, native = _soundfile(name)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise DecodeError(f"the audio could not be decoded ({exc})") from None
    if native != rate:
        g = math.gcd(native, rate)
        samples = resample_poly(samples, rate // g, native // g).astype(np.float32)
    if not np.all(np.isfinite(samples)):
        raise DecodeError("the audio holds invalid samples")
    return samples
