"""The set objective over index orders: transition costs plus the fit to an energy arc.

``cost[i, j]`` is the cost of mixing track ``i`` into track ``j`` (asymmetric); ``arc[i, p]`` (optional)
is the cost of playing track ``i`` at position ``p``. An order's objective is the sum of the costs of
its transitions and of its positions. Hard constraints that forbid a transition (a locked pair broken,
a tempo step too large) are written into the matrix as :data:`FORBIDDEN`, a finite penalty so that
every solver keeps working with plain sums and a violated order is recognisable by its size.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "FORBIDDEN",
    "Solution",
    "forbid",
    "is_feasible",
    "lock_positions",
    "path_cost",
]

#: Cost of a forbidden transition: far above any sum of real costs (a real transition costs < 20).
FORBIDDEN = 1.0e6


@dataclass(frozen=True)
class Solution:
    """An order of track indices, its objective, how it was found and whether it is proven best."""

    order: tuple[int, ...]
    objective: float
    method: str
    optimal: bool = False


def path_cost(cost: np.ndarray, order: Sequence[int], arc: np.ndarray | None = None) -> float:
    """Objective of ``order``: the sum of its transition costs plus its arc costs."""
    idx = np.asarray(order, dtype=np.intp)
    total = float(cost[idx[:-1], idx[1:]].sum()) if len(idx) > 1 else 0.0
    if arc is not None and len(idx):
        total += float(arc[idx, np.arange(len(idx))].sum())
    return total


def forbid(
    cost: np.ndarray,
    *,
    locked_pairs: Iterable[tuple[int, int]] = (),
    forbidden: np.ndarray | None = None,
) -> np.ndarray:
    """A copy of ``cost`` with forbidden transitions priced at :data:`FORBIDDEN`.

    ``locked_pairs`` (a, b) mean "b directly after a": every other successor of a and every other
    predecessor of b is forbidden. ``forbidden`` is a boolean matrix of transitions not allowed (for
    instance a tempo step above the maximum).
    """
    out = np.array(cost, dtype=float, copy=True)
    if forbidden is not None:
        out[forbidden] = FORBIDDEN
    for a, b in locked_pairs:
        out[a, :] = FORBIDDEN
        out[:, b] = FORBIDDEN
        out[a, b] = cost[a, b]  # the DJ locked this pair: it stands even above the tempo limit
    np.fill_diagonal(out, 0.0)
    return out


def is_feasible(objective: float) -> bool:
    """True when an objective contains no forbidden transition."""
    return objective < FORBIDDEN / 2


def lock_positions(
    arc: np.ndarray | None, locked_pairs: Iterable[tuple[int, int]], n_tracks: int, n_positions: int
) -> np.ndarray | None:
    """Arc costs plus :data:`FORBIDDEN` for a locked pair's second track opening the set or its
    first track closing it (a pair must be played whole, and the matrix alone cannot say so)."""
    pairs = list(locked_pairs)
    if not pairs or n_positions == 0:
        return arc
    out = np.zeros((n_tracks, n_positions)) if arc is None else np.array(arc, dtype=float)
    for a, b in pairs:
        out[b, 0] += FORBIDDEN
        out[a, n_positions - 1] += FORBIDDEN
    return out
