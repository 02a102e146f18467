"""The set objective over index orders: transition costs, opening and closing costs, and the arc.

An :class:`OrderProblem` holds one matrix padded with a dummy track (the last row and column): entry
``[i, j]`` is the cost of mixing track ``i`` into track ``j`` (asymmetric), row ``n`` the cost of
opening the set with each track and column ``n`` the cost of closing it with each. Hard constraints
are written into that matrix as :data:`FORBIDDEN`, a finite price far above any sum of real costs, so
that every solver keeps working with plain sums and a violated order is recognisable by its size: a
pinned first or last track forbids every other opening or closing, a locked pair (a, b) forbids every
other successor of a and predecessor of b and forbids b opening or a closing the set, a tempo limit
forbids the steps above it.

The optional :class:`ArcTerm` adds, per track, the arc cost at the time the track plays on the set's
clock (:mod:`service.dj.timeline`).

Large pools take a float32 matrix (:data:`FLOAT32_FROM` tracks and up: 10,000 tracks take 400 MB);
sums are always taken in float64.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from service.dj.arcs import DEFAULT_ARC_WEIGHT, Arc

__all__ = [
    "FLOAT32_FROM",
    "FORBIDDEN",
    "ArcTerm",
    "OrderProblem",
    "SearchStats",
    "Solution",
    "is_feasible",
    "path_cost",
]

#: Cost of a forbidden transition: far above any sum of real costs (a real transition costs < 20).
FORBIDDEN = 1.0e6
#: Pools of this many tracks and more keep their matrix in float32 (half the memory).
FLOAT32_FROM = 2000


@dataclass(frozen=True)
class SearchStats:
    """How a heuristic search spent its budget."""

    kicks: int
    units: int
    seconds: float
    stopped_by: str  # "budget" (its work units ran out) or "clock" (the deadline came first)


@dataclass(frozen=True)
class Solution:
    """An order of track indices, its objective, how it was found and whether it is proven best."""

    order: tuple[int, ...]
    objective: float
    method: str
    optimal: bool = False
    stats: SearchStats | None = None


@dataclass(frozen=True)
class ArcTerm:
    """The arc as the solvers see it, per track index: energy (NaN unknown), floor time, the curve."""

    energy: np.ndarray
    floor_s: np.ndarray
    xs: np.ndarray
    ys: np.ndarray
    weight: float = DEFAULT_ARC_WEIGHT

    @classmethod
    def build(
        cls,
        energies: Sequence[float | None] | np.ndarray,
        floor_s: np.ndarray,
        arc: Arc | None,
        weight: float = DEFAULT_ARC_WEIGHT,
    ) -> ArcTerm | None:
        """The arc term for tracks of these energies and floor times; None without an arc."""
        if arc is None:
            return None
        xs, ys = arc.curve()
        energy = np.array([np.nan if v is None else float(v) for v in energies], dtype=float)
        return cls(energy, np.asarray(floor_s, dtype=float), xs, ys, float(weight))

    def costs(self, order: Sequence[int] | np.ndarray) -> np.ndarray:
        """Arc cost of each track of ``order`` at the time it plays in that order."""
        idx = np.asarray(order, dtype=np.intp)
        if len(idx) == 0:
            return np.zeros(0)
        floors = self.floor_s[idx]
        total = float(floors.sum())
        where = (np.cumsum(floors) - 0.5 * floors) / total if total > 0 else np.zeros(len(idx))
        return self.at(idx, where)

    def at(self, tracks: np.ndarray, where: np.ndarray) -> np.ndarray:
        """Arc cost of ``tracks`` at progress ``where`` (0–1), broadcast together."""
        target = np.interp(np.asarray(where, dtype=float), self.xs, self.ys)
        cost = self.weight * (self.energy[tracks] - target) ** 2
        return np.where(np.isnan(cost), 0.0, cost)

    def total(self, order: Sequence[int] | np.ndarray) -> float:
        """Sum of the arc costs of ``order``."""
        return float(self.costs(order).sum())

    def subset(self, idx: Sequence[int] | np.ndarray) -> ArcTerm:
        """The same arc over the tracks ``idx`` (renumbered 0…)."""
        idx = np.asarray(idx, dtype=np.intp)
        return ArcTerm(self.energy[idx], self.floor_s[idx], self.xs, self.ys, self.weight)


def path_cost(
    cost: np.ndarray, order: Sequence[int] | np.ndarray, arc: ArcTerm | None = None
) -> float:
    """Sum of the transition costs of ``order`` (plus its arc costs when an arc term is given)."""
    idx = np.asarray(order, dtype=np.intp)
    total = float(cost[idx[:-1], idx[1:]].astype(float).sum()) if len(idx) > 1 else 0.0
    if arc is not None:
        total += arc.total(idx)
    return total


@dataclass(frozen=True)
class OrderProblem:
    """Everything an ordering solver needs: the padded matrix and the arc term, by track index."""

    matrix: np.ndarray
    arc: ArcTerm | None = None

    @property
    def n(self) -> int:
        """Number of tracks to order."""
        return self.matrix.shape[0] - 1

    @property
    def cost(self) -> np.ndarray:
        """Transition costs between tracks (a view, no copy)."""
        return self.matrix[: self.n, : self.n]

    @property
    def opening(self) -> np.ndarray:
        """Cost of opening the set with each track (0, or FORBIDDEN)."""
        return self.matrix[self.n, : self.n]

    @property
    def closing(self) -> np.ndarray:
        """Cost of closing the set with each track (0, or FORBIDDEN)."""
        return self.matrix[: self.n, self.n]

    @classmethod
    def build(
        cls,
        cost: np.ndarray,
        arc: ArcTerm | None = None,
        *,
        first: int | None = None,
        last: int | None = None,
        locked_pairs: Iterable[tuple[int, int]] = (),
        forbidden: np.ndarray | None = None,
    ) -> OrderProblem:
        """A problem from a plain n × n matrix (copied into the padded one) and the constraints."""
        n = cost.shape[0]
        dtype = np.float32 if n >= FLOAT32_FROM else np.float64
        matrix = np.zeros((n + 1, n + 1), dtype=dtype)
        matrix[:n, :n] = cost
        constrain(matrix, first=first, last=last, locked_pairs=locked_pairs, forbidden=forbidden)
        return cls(matrix, arc)

    def objective(self, order: Sequence[int] | np.ndarray) -> float:
        """Opening, transitions, closing and arc costs of ``order`` (a full order of the tracks)."""
        idx = np.asarray(order, dtype=np.intp)
        if len(idx) == 0:
            return 0.0
        padded = np.concatenate([[self.n], idx, [self.n]])
        total = float(self.matrix[padded[:-1], padded[1:]].astype(float).sum())
        if self.arc is not None:
            total += self.arc.total(idx)
        return total

    def pinned(self) -> tuple[int | None, int | None]:
        """The only track allowed to open and the only one allowed to close the set, if so."""
        allowed_first = np.flatnonzero(self.opening < FORBIDDEN / 2)
        allowed_last = np.flatnonzero(self.closing < FORBIDDEN / 2)
        first = int(allowed_first[0]) if len(allowed_first) == 1 and self.n > 1 else None
        last = int(allowed_last[0]) if len(allowed_last) == 1 and self.n > 1 else None
        return first, (last if last != first else None)

    def subproblem(self, idx: Sequence[int] | np.ndarray) -> OrderProblem:
        """The problem over the tracks ``idx`` only (renumbered 0…), openings and closings kept."""
        keep = np.append(np.asarray(idx, dtype=np.intp), self.n)
        matrix = np.ascontiguousarray(self.matrix[np.ix_(keep, keep)])
        arc = self.arc.subset(keep[:-1]) if self.arc is not None else None
        return OrderProblem(matrix, arc)


def constrain(
    matrix: np.ndarray,
    *,
    first: int | None = None,
    last: int | None = None,
    locked_pairs: Iterable[tuple[int, int]] = (),
    forbidden: np.ndarray | None = None,
) -> None:
    """Write pins, locked pairs and forbidden transitions into a padded matrix, in place.

    ``locked_pairs`` (a, b) mean "b directly after a": every other successor of a and every other
    predecessor of b is forbidden, and so are b opening and a closing the set (a pair is played
    whole); the locked transition keeps its own cost even above a tempo limit. ``forbidden`` is a
    boolean n × n matrix of transitions not allowed.
    """
    n = matrix.shape[0] - 1
    locked = [(a, b, float(matrix[a, b])) for a, b in locked_pairs]
    if forbidden is not None:
        matrix[:n, :n][forbidden] = FORBIDDEN
    if first is not None:
        matrix[n, :n] = FORBIDDEN
        matrix[n, first] = 0.0
    if last is not None:
        matrix[:n, n] = FORBIDDEN
        matrix[last, n] = 0.0
    for a, b, own in locked:
        matrix[a, :] = FORBIDDEN
        matrix[:, b] = FORBIDDEN
        matrix[a, b] = own
        matrix[n, b] = FORBIDDEN
        matrix[a, n] = FORBIDDEN
    np.fill_diagonal(matrix, 0.0)


def is_feasible(objective: float) -> bool:
    """True when an objective contains no forbidden transition."""
    return objective < FORBIDDEN / 2
