"""Transitions and the continuous mix, rendered block by block.

A *deck* is one track as it will sound in the mix: stereo at :data:`RATE`, loudness-matched, already
time-stretched where it comes in, with its beat grid in the deck's own frames. Each transition is
played the way the scorecard's mixing technique for it says (:data:`TECHNIQUE_BARS`):

- a **long** (32 bars) or **short** (16 bars) **blend** takes the outgoing deck's last phrase that
  leaves room for the blend, puts the incoming track's first downbeat there at the outgoing tempo,
  crossfades with an equal-power curve and swaps the bass at the middle; the incoming track then
  rides back to its own tempo over as many bars again. The tempo moves the pitch, as a pitch fader
  does, unless ``pitch_lock`` asks for keylock (:func:`~service.dj.render.audio.keylock`). Without a
  beat grid on either side (or with tempos too far apart to beatmatch) it is a plain equal-power
  crossfade over :data:`PLAIN_FADE_S`, and the result says so;
- a **cut** or an **echo out** drops the incoming track in at its own tempo, from its first
  downbeat, on the outgoing track's last phrase boundary that leaves room: a cut fades over
  :data:`CUT_FADE_S`; an echo out repeats the outgoing track's last beat for two bars, each repeat
  quieter, while the next track plays clean.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import numpy as np

from service.dj.render.audio import RATE, bass_split, keylock, limit, ride, splice, stretch
from service.dj.render.loudness import SILENT_LUFS, loudness

__all__ = [
    "DEFAULT_BARS",
    "PLAIN_FADE_S",
    "TARGET_LUFS",
    "Deck",
    "Played",
    "Track",
    "Transition",
    "mix_blocks",
    "prepare",
    "preview",
    "transition",
]

#: Every track is brought to this integrated loudness (EBU R128 measure); headroom for the blend.
TARGET_LUFS = -18.0
DEFAULT_BARS = 16
#: Length of a plain crossfade, where there is no grid to count bars on.
PLAIN_FADE_S = 12.0
#: Farther apart than this (after halving or doubling), tempos are not matched: plain crossfade.
MAX_STRETCH = 0.12
#: A phrase, in bars: blends start on one.
PHRASE_BARS = 8
#: Bars of the blend for each mixing technique the scorecard names (a track without one: DEFAULT_BARS).
TECHNIQUE_BARS = {"long_blend": 32, "short_blend": 16, "echo_out": 2, "cut": 1}
#: The longest a transition's preview runs.
PREVIEW_MAX_S = 60.0
#: A blend that does not fit is halved down to this before it becomes a plain crossfade.
MIN_BLEND_BARS = 4
#: A cut is a fade this short (no click), the next track dropped in on the downbeat.
CUT_FADE_S = 0.25
#: An echo out repeats the outgoing track's last beat, each repeat this much quieter, lows removed.
ECHO_FEEDBACK = 0.55
#: The beat an echo repeats when there is no grid to count on.
PLAIN_BEAT_S = 0.5
_SWAP_RAMP_S = 0.02
#: Where a keylocked ride hands over to the track itself: a 6 ms crossfade.
_SPLICE_FRAMES = 256
_BLOCK = 1 << 16


@dataclass(frozen=True)
class Track:
    """A decoded track and what the analysis says about it."""

    audio: np.ndarray  # frames × 2, float32, at RATE
    bpm: float | None = None
    first_beat_s: float | None = None
    title: str = ""
    technique: str | None = None  # how it comes in (the scorecard's mixing technique), if known


@dataclass
class Deck:
    """A track as played: gain applied, stretched where it came in, grid in its own frames."""

    audio: np.ndarray
    bar: float | None  # frames per bar in the part at the track's own tempo
    downbeat: float | None  # a frame on the grid (bar 1 extrapolated), in the own-tempo part
    free_from: int = 0  # first frame after the previous transition and the ride back
    bpm: float | None = None
    gain_db: float = 0.0


@dataclass
class Transition:
    """One blend: where it starts in the outgoing deck, how long it is, what it did."""

    start: int  # frame of the outgoing deck where the blend starts
    length: int  # frames of the blend
    incoming: Deck  # the incoming deck; its frame 0 plays at ``start``
    beatmatched: bool
    speed: float = 1.0  # incoming track's playback speed during the blend
    note: str = ""
    technique: str = "blend"  # blend, cut or echo_out: what the blend plays
    beat: int = 0  # frames of the outgoing track's beat (what an echo repeats)
    parts: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def blend(self, outgoing: Deck) -> np.ndarray:
        """The blended frames (outgoing and incoming summed, before the limiter)."""
        a, b = self.stems(outgoing)
        return a + b

    def stems(self, outgoing: Deck) -> tuple[np.ndarray, np.ndarray]:
        """Outgoing and incoming frames of the blend, each with its fade and bass swap applied."""
        if self.parts is None:
            self.parts = _blend_stems(self, outgoing)
        return self.parts


def _gain_db(audio: np.ndarray, target: float) -> float:
    level = loudness(audio, RATE)
    return 0.0 if level <= SILENT_LUFS else target - level


def prepare(track: Track, target_lufs: float = TARGET_LUFS) -> Deck:
    """The first deck of a mix: loudness-matched, at its own tempo."""
    gain = _gain_db(track.audio, target_lufs)
    audio = np.multiply(track.audio, np.float32(10 ** (gain / 20)), dtype=np.float32)
    bar = downbeat = None
    if track.bpm and track.first_beat_s is not None:
        bar = 4 * 60.0 / track.bpm * RATE
        downbeat = track.first_beat_s * RATE
    return Deck(audio, bar, downbeat, 0, track.bpm, gain)


def _speed(outgoing_bpm: float, incoming_bpm: float) -> float | None:
    """Playback speed that puts the incoming beat on the outgoing one (halving or doubling)."""
    speed = outgoing_bpm / incoming_bpm
    while speed > 1.5:
        speed /= 2
    while speed < 0.75:
        speed *= 2
    return speed if abs(speed - 1.0) <= MAX_STRETCH else None


def transition(
    outgoing: Deck,
    incoming: Track,
    bars: int | None = None,
    target_lufs: float = TARGET_LUFS,
    pitch_lock: bool = False,
) -> Transition:
    """Plan and prepare the blend from ``outgoing`` into ``incoming`` (see the module docstring);
    ``bars`` overrides the blend length the incoming track's technique asks for, and ``pitch_lock``
    changes the tempo with the pitch kept (keylock, WSOLA) instead of resampling."""
    gain = _gain_db(incoming.audio, target_lufs)
    source = incoming.audio  # the gain is applied to the deck built from it, not to a copy
    if incoming.technique in ("cut", "echo_out"):
        return _dropped(outgoing, source, incoming, gain, incoming.technique)
    bars = bars or TECHNIQUE_BARS.get(incoming.technique or "", DEFAULT_BARS)
    note = ""
    speed = None
    if outgoing.bar is None or outgoing.downbeat is None or outgoing.bpm is None:
        note = "the outgoing track has no beat grid: plain crossfade"
    elif not incoming.bpm or incoming.first_beat_s is None:
        note = "the incoming track has no beat grid: plain crossfade"
    else:
        speed = _speed(outgoing.bpm, incoming.bpm)
        if speed is None:
            note = "the tempos are too far apart to beatmatch: plain crossfade"
    if speed is not None:
        assert outgoing.bar is not None and outgoing.downbeat is not None
        assert incoming.bpm is not None and incoming.first_beat_s is not None
        # The blend asked for, else shorter ones (a radio edit has no room for 32 bars and the ride).
        tried = bars
        while tried >= MIN_BLEND_BARS:
            planned = _beatmatched(outgoing, source, incoming, speed, tried, pitch_lock)
            if planned is not None:
                planned.incoming.audio *= np.float32(10 ** (gain / 20))
                planned.incoming.gain_db = gain
                if tried < bars:
                    planned.note = (f"{tried} bars, not {bars}: the tracks are too short "
                                    "for a longer blend")  # fmt: skip
                return planned
            tried //= 2
        note = "too short for a beatmatched blend: plain crossfade"
    return _plain(outgoing, source, incoming, gain, note)


def _plain(
    outgoing: Deck, source: np.ndarray, incoming: Track, gain: float, note: str
) -> Transition:
    n = len(outgoing.audio)
    length = min(round(PLAIN_FADE_S * RATE), n - outgoing.free_from, len(source)) // 2 * 2
    length = max(length, 0)
    bar = downbeat = None
    if incoming.bpm and incoming.first_beat_s is not None:
        bar = 4 * 60.0 / incoming.bpm * RATE
        downbeat = incoming.first_beat_s * RATE
    audio = np.multiply(source, np.float32(10 ** (gain / 20)), dtype=np.float32)
    deck = Deck(audio, bar, downbeat, length, incoming.bpm, gain)
    return Transition(n - length, length, deck, False, 1.0, note)


def _dropped(
    outgoing: Deck, source: np.ndarray, incoming: Track, gain: float, technique: str
) -> Transition:
    """A cut or an echo out: the incoming track at its own tempo from its first downbeat, dropped
    on the outgoing track's last phrase boundary that leaves room (its end, without a grid)."""
    n = len(outgoing.audio)
    gridded = outgoing.bar is not None and outgoing.downbeat is not None
    beat = round(outgoing.bar / 4) if gridded else round(PLAIN_BEAT_S * RATE)  # type: ignore[operator]
    if technique == "cut":
        length = round(CUT_FADE_S * RATE)
    else:
        length = round(TECHNIQUE_BARS["echo_out"] * outgoing.bar) if gridded else 8 * beat  # type: ignore[operator]
    length = max(0, min(length, n - outgoing.free_from, len(source)))
    start = n - length
    if gridded:
        assert outgoing.bar is not None and outgoing.downbeat is not None
        phrase = PHRASE_BARS * outgoing.bar
        k = math.floor((n - length - outgoing.downbeat) / phrase)
        at = outgoing.downbeat + k * phrase
        if at >= max(outgoing.free_from, beat):
            start = round(at)
    head = 0
    bar = downbeat = None
    if incoming.bpm and incoming.first_beat_s is not None:
        head = round(incoming.first_beat_s * RATE)  # drop in on bar 1
        bar = 4 * 60.0 / incoming.bpm * RATE
        downbeat = 0.0
    audio = np.multiply(source[head:], np.float32(10 ** (gain / 20)), dtype=np.float32)
    length = min(length, len(audio))
    deck = Deck(audio, bar, downbeat, length, incoming.bpm, gain)
    where = "on a phrase boundary" if gridded else "at the end"
    note = (f"cut {where}, the next track dropped in at its own tempo" if technique == "cut"
            else f"echo out {where}, the next track dropped in clean at its own tempo")  # fmt: skip
    return Transition(start, length, deck, False, 1.0, note, technique, beat)


def _beatmatched(
    outgoing: Deck, source: np.ndarray, incoming: Track, speed: float, bars: int, pitch_lock: bool
) -> Transition | None:
    assert outgoing.bar is not None and outgoing.downbeat is not None
    assert incoming.bpm is not None and incoming.first_beat_s is not None
    bar_out = outgoing.bar
    length = round(bars * bar_out)
    n = len(outgoing.audio)
    # The last phrase start (counted from the grid's bar 1) that leaves room for the whole blend.
    phrase = PHRASE_BARS * bar_out
    k = math.floor((n - length - outgoing.downbeat) / phrase)
    start = outgoing.downbeat + k * phrase
    while start >= outgoing.free_from + phrase and start + length > n:
        start -= phrase
    if start < outgoing.free_from or start + length > n:
        return None
    first = incoming.first_beat_s * RATE  # the incoming track's bar 1, in source frames
    src_bar = 4 * 60.0 / incoming.bpm * RATE
    # Bar 1 of the incoming track falls on frame ``start`` of the outgoing deck.
    head_frames = round(first)
    span = length * speed  # source frames the blend plays (twice B's bars when B is double-time)
    if len(source) - head_frames < span + bars * src_bar + RATE:
        return None
    # Ride back from ``speed`` to 1 over the next ``bars`` bars (at the average of both tempos).
    ride_len = round(bars * src_bar / ((speed + 1) / 2))
    src_pos = head_frames + length * speed
    after = src_pos + ride_len * (speed + 1) / 2  # source frame where own tempo resumes
    if pitch_lock:
        # One WSOLA pass over blend and ride, then the track from where it continues the waveform,
        # with a short crossfade: no jump where the blend ends or where the ride ends.
        part = source[head_frames : round(after) + RATE]
        locked = keylock(part, 0.0, speed, 1.0, length + ride_len, hold=length)
        blended, riding = locked[:length], locked[length:]
        resume = splice(source, locked, round(after))
        fade = min(_SPLICE_FRAMES, len(riding), resume)
        if fade:
            r = np.linspace(0.0, 1.0, fade + 2, dtype=np.float32)[1:-1, None]
            riding[-fade:] = riding[-fade:] * (1 - r) + source[resume - fade : resume] * r
    else:
        blend_src = source[head_frames : head_frames + round(span) + RATE]
        blended = stretch(blend_src, speed)[:length]
        riding = ride(source, src_pos, speed, 1.0, ride_len)
        resume = round(after)
    rest = source[resume:]
    audio = np.concatenate([blended, riding, rest], dtype=np.float32)  # the deck's only copy
    # The grid in the own-tempo part: a source downbeat ``d`` plays at frame length+ride_len+(d-resume).
    downbeat = length + ride_len + (first - resume)
    deck = Deck(audio, src_bar, downbeat, length + ride_len, incoming.bpm)
    return Transition(round(start), length, deck, True, speed)


def _echo(outgoing: Deck, tr: Transition) -> np.ndarray:
    """The outgoing track's last beat before the blend, repeated every beat over the blend, each
    repeat :data:`ECHO_FEEDBACK` quieter, without its lows (they would muddy the next track's)."""
    beat = max(1, min(tr.beat, tr.start))
    _, last = bass_split(outgoing.audio[tr.start - beat : tr.start])
    tail = np.zeros((tr.length, outgoing.audio.shape[1]), dtype=np.float32)
    gain, at = ECHO_FEEDBACK, 0
    while at < tr.length and gain > 0.01:
        part = last[: tr.length - at]
        tail[at : at + len(part)] += part * np.float32(gain)
        gain, at = gain * ECHO_FEEDBACK, at + beat
    return tail


def _blend_stems(tr: Transition, outgoing: Deck) -> tuple[np.ndarray, np.ndarray]:
    a = outgoing.audio[tr.start : tr.start + tr.length]
    b = tr.incoming.audio[: tr.length]
    if tr.technique == "echo_out":
        ramp = np.minimum(1.0, np.arange(tr.length) / max(1, round(_SWAP_RAMP_S * RATE)))
        return _echo(outgoing, tr), b * ramp.astype(np.float32)[:, None]
    t = (np.arange(tr.length, dtype=np.float64) + 0.5) / max(tr.length, 1)
    fade_out = np.cos(t * np.pi / 2).astype(np.float32)[:, None]
    fade_in = np.sin(t * np.pi / 2).astype(np.float32)[:, None]
    if not tr.beatmatched:
        return a * fade_out, b * fade_in
    # Bass swap at the middle phrase boundary: A's lows leave as B's lows arrive (20 ms ramp).
    a_low, a_rest = bass_split(a)
    b_low, b_rest = bass_split(b)
    swap = tr.length // 2
    ramp = round(_SWAP_RAMP_S * RATE)
    frames = np.arange(tr.length)
    b_low_gain = np.clip((frames - (swap - ramp / 2)) / ramp, 0.0, 1.0)
    b_low_gain = (np.sin(b_low_gain * np.pi / 2) ** 2).astype(np.float32)[:, None]
    a_low_gain = 1.0 - b_low_gain
    return a_rest * fade_out + a_low * a_low_gain, b_rest * fade_in + b_low * b_low_gain


def preview(
    outgoing: Deck,
    tr: Transition,
    seconds: float = 45.0,
    stems: bool = False,
    longest_s: float = PREVIEW_MAX_S,
) -> tuple[np.ndarray, int] | tuple[np.ndarray, int, np.ndarray, np.ndarray]:
    """The blend with some of each track around it, ``seconds`` long where the tracks allow and
    never longer than ``longest_s`` (a long blend is heard from its start through its bass swap);
    returns (frames, frame of the blend's start in them) and, with ``stems``, each side alone."""
    side = max(round((seconds * RATE - tr.length) / 2), 4 * RATE)
    lead = min(side, tr.start)
    room = round(longest_s * RATE) - lead
    heard = min(tr.length, room)
    head = outgoing.audio[tr.start - lead : tr.start]
    tail = tr.incoming.audio[tr.length : tr.length + max(0, min(side, room - heard))]
    a, b = (stem[:heard] for stem in tr.stems(outgoing))
    audio = limit(np.concatenate([head, a + b, tail]))
    if not stems:
        return audio, lead
    zeros_head, zeros_tail = np.zeros_like(head), np.zeros_like(tail)
    return (
        audio,
        lead,
        np.concatenate([head, a, zeros_tail]),
        np.concatenate([zeros_head, b, tail]),
    )


@dataclass(frozen=True)
class Played:
    """One track's place in the mix and how it came in."""

    index: int
    start_s: float
    beatmatched: bool | None = None  # how it came in; None for the first track or a failed one
    note: str = ""
    error: str | None = None


def mix_blocks(
    tracks: Iterable[tuple[int, Callable[[], Track]]],
    bars: int | None = None,
    target_lufs: float = TARGET_LUFS,
    on_transition: Callable[[Deck, Transition, int, int], None] | None = None,
    pitch_lock: bool = False,
) -> Iterator[np.ndarray | Played]:
    """The whole mix as blocks of limited frames, interleaved with a :class:`Played` per track.

    ``tracks`` yields (index, loader); a loader that raises ``ValueError`` (a file that cannot be
    decoded) drops that track: the mix goes from the track before it to the one after it, and its
    :class:`Played` carries the error. At most two tracks are in memory at a time.
    ``on_transition(outgoing, transition, from_index, to_index)`` sees each blend (for previews).
    """
    current: Deck | None = None
    current_index = -1
    position = 0  # frames of the current deck already written
    written = 0  # frames of the mix written
    for index, load in tracks:
        try:
            track = load()
        except ValueError as exc:
            yield Played(index, written / RATE, error=str(exc))
            continue
        if current is None:
            current = prepare(track, target_lufs)
            del track
            current_index, position = index, 0
            yield Played(index, 0.0)
            continue
        tr = transition(current, track, bars, target_lufs, pitch_lock)
        del track  # the incoming deck holds its own copy
        if on_transition is not None:
            on_transition(current, tr, current_index, index)
        for block in _blocks(current.audio[position : tr.start]):
            written += len(block)
            yield block
        start_s = written / RATE
        blend = tr.blend(current)
        tr.parts = None
        for block in _blocks(blend):
            written += len(block)
            yield block
        yield Played(index, start_s, tr.beatmatched, tr.note)  # not ``tr``: it holds the deck
        current, current_index, position = tr.incoming, index, tr.length
    if current is not None:
        for block in _blocks(current.audio[position:]):
            yield block


def _blocks(audio: np.ndarray) -> Iterator[np.ndarray]:
    for i in range(0, len(audio), _BLOCK):
        yield limit(audio[i : i + _BLOCK])
