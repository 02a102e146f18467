"""Band energies over time, computed once and shared by tempo, grid, energy and sections.

One short-time Fourier transform (2048-point Hann window, hop 256 at 22,050 Hz: 86 frames a second),
taken in chunks so a long track never holds its whole spectrogram, reduced to 48 log-spaced bands
from 30 Hz to 11 kHz. Onset strength is the half-wave-rectified rise of log band energy (spectral
flux), over all bands and over the kick's (30–150 Hz); :meth:`Bands.flux` gives any other range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = ["HOP", "N_FFT", "Bands", "band_energies"]

N_FFT = 2048
HOP = 256
_N_BANDS = 48
_F_MIN, _F_MAX = 30.0, 11000.0
_CHUNK_FRAMES = 1024


@dataclass(frozen=True)
class Bands:
    """Band power per frame (bands × frames) and the derived onset envelopes."""

    power: np.ndarray  # float32, bands × frames
    edges_hz: np.ndarray  # band edges, len = bands + 1
    frame_rate: float
    onset: np.ndarray  # all bands
    onset_low: np.ndarray  # 30–150 Hz (kick)

    def band_mask(self, lo_hz: float, hi_hz: float) -> np.ndarray:
        """Bands whose centre lies in [lo_hz, hi_hz)."""
        centre = np.sqrt(self.edges_hz[:-1] * self.edges_hz[1:])
        return (centre >= lo_hz) & (centre < hi_hz)

    def flux(self, lo_hz: float, hi_hz: float, range_db: float = 30.0) -> np.ndarray:
        """Onset strength of [lo_hz, hi_hz) counting only sound within ``range_db`` of its loudest."""
        power = self.power[self.band_mask(lo_hz, hi_hz)]
        logp = np.log1p(power * (10 ** (range_db / 10) / max(float(power.max()), 1e-12)))
        return np.maximum(np.diff(logp, axis=1, prepend=logp[:, :1]), 0.0).sum(axis=0)


def _band_bins(rate: int) -> tuple[np.ndarray, np.ndarray]:
    """First FFT bin of each band (each band at least one bin wide) and the bands' edges in Hz."""
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / rate)
    wanted = np.geomspace(_F_MIN, min(_F_MAX, rate / 2 - 1), _N_BANDS + 1)
    starts = np.searchsorted(freqs, wanted)
    ramp = np.arange(len(starts))
    starts = np.maximum.accumulate(starts - ramp) + ramp  # strictly increasing
    starts = starts[starts < len(freqs)]
    return starts[:-1], freqs[starts]


def _flux(logp: np.ndarray, rows: np.ndarray) -> np.ndarray:
    diff = np.diff(logp[rows], axis=1, prepend=logp[rows][:, :1])
    return np.maximum(diff, 0.0).sum(axis=0)


def band_energies(samples: np.ndarray, rate: int) -> Bands:
    """Band power and onset envelopes of mono ``samples`` at ``rate`` Hz (frame t centred at t·HOP)."""
    padded = np.pad(samples.astype(np.float32), (N_FFT // 2, N_FFT // 2))
    frames = sliding_window_view(padded, N_FFT)[::HOP]
    window = np.hanning(N_FFT).astype(np.float32)
    starts, edges = _band_bins(rate)
    power = np.empty((len(starts), len(frames)), dtype=np.float32)
    for lo in range(0, len(frames), _CHUNK_FRAMES):
        spec = np.fft.rfft(frames[lo : lo + _CHUNK_FRAMES] * window, axis=1)
        mag2 = (spec.real**2 + spec.imag**2).astype(np.float32)
        power[:, lo : lo + _CHUNK_FRAMES] = np.add.reduceat(mag2, starts, axis=1).T
    # Log with a floor relative to the loudest band-frame: level-independent, quiet noise ignored.
    floor = max(float(power.max()), 1e-12) * 1e-8
    logp = np.log(power + floor)
    centre = np.sqrt(edges[:-1] * edges[1:])
    all_rows = np.arange(len(centre))
    low_rows = np.nonzero(centre < 150)[0]
    return Bands(
        power=power,
        edges_hz=edges,
        frame_rate=rate / HOP,
        onset=_flux(logp, all_rows),
        onset_low=_flux(logp, low_rows),
    )
