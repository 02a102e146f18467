"""Hear the set: beat-matched transitions and the continuous mix, from decoded audio and beat grids.

Pure domain code (numpy, scipy, soundfile), used by ``aidj set render``. Libraries and why:

- **scipy.signal** (BSD-3-Clause): the tempo change is its polyphase resampler (``resample_poly``),
  the pitch-fader way a DJ matches tempo (pitch moves with tempo, by at most 12 %), or, with keylock,
  a short WSOLA of our own (:func:`~service.dj.render.audio.keylock`, tested on beats and pitch:
  Rubber Band would sound better on tonal material but is GPL-2.0 or a paid licence);
  the bass swap's split is a 4th-order Butterworth low-pass run forward and back; the loudness is
  ITU-R BS.1770 / EBU R128 integrated loudness with K-weighting biquads and gating
  (:mod:`~service.dj.render.loudness`), so no ``pyloudnorm`` or ``librosa`` dependency.
- **soundfile** (BSD-3-Clause, libsndfile LGPL-2.1): reads the tracks and writes WAV, FLAC, Ogg
  Vorbis and MP3 (libsndfile 1.2 embeds LAME and mpg123) block by block, so a mix is never held whole.
- **mutagen** (GPL-2.0-or-later, already the tag reader): chapter marks in the written mix, one per
  track (:mod:`~service.dj.render.chapters`).
"""

from __future__ import annotations

from service.dj.render.audio import RATE, load
from service.dj.render.chapters import Chapter, write_chapters
from service.dj.render.loudness import loudness
from service.dj.render.mix import (
    DEFAULT_BARS,
    PLAIN_FADE_S,
    TARGET_LUFS,
    Deck,
    Played,
    Track,
    Transition,
    mix_blocks,
    prepare,
    preview,
    transition,
)
from service.dj.render.outputs import (
    PreviewFile,
    RenderedSet,
    SetTrack,
    cue_sheet,
    decode_track,
    render_set,
    waveform,
)

__all__ = [
    "DEFAULT_BARS",
    "PLAIN_FADE_S",
    "RATE",
    "TARGET_LUFS",
    "Chapter",
    "Deck",
    "Played",
    "PreviewFile",
    "RenderedSet",
    "SetTrack",
    "Track",
    "Transition",
    "cue_sheet",
    "decode_track",
    "load",
    "loudness",
    "mix_blocks",
    "prepare",
    "preview",
    "render_set",
    "transition",
    "waveform",
    "write_chapters",
]
