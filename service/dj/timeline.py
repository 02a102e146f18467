"""The set's clock: how long a set plays and when each track starts. One model for every caller.

A DJ brings the next track in over the last seconds of the playing one. We call that stretch the
*takeover*: ``overlap_s`` seconds (45 s by default: a 16-bar blend at 128 BPM takes 30 s, a 32-bar
one 60 s), but never more than half the outgoing track, so a 12-second loop hands over after 6 s
instead of overlapping more than it lasts. A track therefore holds the floor alone for
``duration − takeover`` seconds (its *floor time*, never below half its length), and:

- the next track starts when the previous ones have held the floor: the start of a track is the sum
  of the floor times before it, whatever their order;
- the set lasts the sum of its floor times plus the last track's takeover (the last track plays out);
- the arc (:mod:`service.dj.arcs`) measures a track at the middle of its floor time, as a share of
  the set's total floor time, so the energy curve follows the clock of the set, not the count of
  tracks; a three-minute edit moves the set along half as far as a six-minute track.

Because a start depends only on which tracks came before, the exact solver can price the arc per
subset of tracks and the local search knows that a move changes start times only inside the stretch
it rearranges. Selection, planning, the scorecard and the arc all call these functions; an unknown
duration counts as :data:`DEFAULT_TRACK_S`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from service.dj.tracks import Track

__all__ = [
    "DEFAULT_OVERLAP_S",
    "DEFAULT_TRACK_S",
    "durations",
    "floor_s",
    "progress",
    "set_length_s",
    "start_times_s",
    "takeover_s",
]

#: Length assumed for a track whose duration is unknown (a typical club track runs 5–7 min).
DEFAULT_TRACK_S = 360.0
#: Seconds the next track comes in over the end of the playing one.
DEFAULT_OVERLAP_S = 45.0


def durations(tracks: Sequence[Track]) -> np.ndarray:
    """Seconds per track, :data:`DEFAULT_TRACK_S` where the duration is unknown or not positive."""
    return np.array(
        [t.duration_s if t.duration_s and t.duration_s > 0 else DEFAULT_TRACK_S for t in tracks],
        dtype=float,
    )


def takeover_s(seconds: np.ndarray, overlap_s: float = DEFAULT_OVERLAP_S) -> np.ndarray:
    """Seconds over which the next track comes in: ``overlap_s``, at most half of each track."""
    return np.minimum(max(0.0, overlap_s), 0.5 * np.asarray(seconds, dtype=float))


def floor_s(seconds: np.ndarray, overlap_s: float = DEFAULT_OVERLAP_S) -> np.ndarray:
    """Seconds each track plays before the next one comes in (never below half its length)."""
    seconds = np.asarray(seconds, dtype=float)
    return seconds - takeover_s(seconds, overlap_s)


def set_length_s(seconds_in_order: np.ndarray, overlap_s: float = DEFAULT_OVERLAP_S) -> float:
    """Played length of tracks of these durations, in this order: never negative."""
    seconds = np.asarray(seconds_in_order, dtype=float)
    if len(seconds) == 0:
        return 0.0
    return float(floor_s(seconds, overlap_s).sum() + takeover_s(seconds[-1:], overlap_s)[0])


def start_times_s(seconds_in_order: np.ndarray, overlap_s: float = DEFAULT_OVERLAP_S) -> np.ndarray:
    """Second of the set at which each track starts."""
    floors = floor_s(seconds_in_order, overlap_s)
    return np.concatenate([[0.0], np.cumsum(floors)[:-1]]) if len(floors) else floors


def progress(seconds_in_order: np.ndarray, overlap_s: float = DEFAULT_OVERLAP_S) -> np.ndarray:
    """Where each track sits in the set, 0–1: the middle of its floor time over the total floor time."""
    floors = floor_s(seconds_in_order, overlap_s)
    total = float(floors.sum())
    if len(floors) == 0 or total <= 0.0:
        return np.full(len(floors), 0.5)
    return (np.cumsum(floors) - 0.5 * floors) / total
