"""Selection and order together: the best set of a target length from a larger pool.

The set's length is the sum of its tracks' durations minus the overlap of each mix; it must land in
``target · (1 ± tolerance)``. Among sets that fit, the objective is the **mean** cost per transition
(transition costs plus arc costs, divided by the number of transitions): a total would reward sets
of few long tracks merely for having fewer transitions.

Search, deterministic for a seed:

1. construct from several starting tracks (two per second of budget): greedy appending (cheapest
   transition plus arc cost at the expected position) until the length is reached, then the must-include tracks inserted where they
   cost least, then the length repaired by cheapest removals or insertions;
2. improve by rounds of the best move among *swap* (a track of the set for one of the pool, at the
   same place), *insert* and *remove*, each evaluated for every position and every pool track at
   once in numpy, alternating with a re-ordering of the chosen tracks (exact up to 15 tracks, iterated
   local search above), until nothing improves;
3. kick the best set (three of its tracks swapped for random pool tracks) and improve again, two
   kicks per construction, keeping the better set.

A length outside the window counts before any cost (lexicographically), so the search first makes
the set fit and then makes it good. Pinned, included and locked tracks are never swapped out.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from service.dj.arcs import DEFAULT_ARC_WEIGHT, Arc, arc_cost_matrix
from service.dj.sequencing.exact import EXACT_MAX_TRACKS, held_karp
from service.dj.sequencing.heuristic import order_heuristic, wall_clock_cap
from service.dj.sequencing.objective import Solution, lock_positions, path_cost

__all__ = ["SelectionError", "SelectionProblem", "select_and_order"]

log = logging.getLogger(__name__)

#: Weight of one second outside the length window: larger than any cost difference.
_LENGTH_PENALTY = 1.0e8
#: Kicks from the best set per construction, and how many tracks each kick swaps out.
KICKS_PER_START = 2
KICK_TRACKS = 3


class SelectionError(ValueError):
    """The constraints cannot be met (e.g. the must-include tracks alone exceed the set length)."""


@dataclass
class SelectionProblem:
    """A pool as matrices plus what the set must be; indices refer to the pool."""

    cost: np.ndarray  # pool × pool transition costs, forbidden transitions already priced in
    energies: np.ndarray  # per track, NaN when unknown
    durations: np.ndarray  # seconds per track, unknown durations already filled in by the caller
    target_s: float
    tolerance: float = 0.05
    overlap_s: float = 0.0
    arc: Arc | None = None
    arc_weight: float = DEFAULT_ARC_WEIGHT
    allowed: np.ndarray | None = None  # bool per track: may be chosen
    include: tuple[int, ...] = ()
    locked: tuple[tuple[int, int], ...] = ()
    first: int | None = None
    last: int | None = None
    starts: int | None = None  # constructions to try; None: two per second of budget (2–32)
    protected: frozenset[int] = field(init=False)
    padded_cost: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        m = self.cost.shape[0]
        if self.allowed is None:
            self.allowed = np.ones(m, dtype=bool)
        pins = {x for x in (self.first, self.last) if x is not None}
        self.protected = frozenset(self.include) | pins
        self.allowed = self.allowed.copy()
        self.allowed[list(self.protected)] = True
        # the cost matrix with a free dummy track (index m) before the first and after the last
        self.padded_cost = np.zeros((m + 1, m + 1))
        self.padded_cost[:m, :m] = self.cost

    @property
    def window(self) -> tuple[float, float]:
        """Shortest and longest acceptable set length in seconds."""
        return self.target_s * (1 - self.tolerance), self.target_s * (1 + self.tolerance)

    def length(self, order: list[int] | np.ndarray) -> float:
        """Played length of ``order`` in seconds (durations minus one overlap per mix)."""
        if len(order) == 0:
            return 0.0
        return float(self.durations[list(order)].sum()) - self.overlap_s * (len(order) - 1)

    def arc_matrix(self, n: int) -> np.ndarray | None:
        """Arc costs of every pool track at each of ``n`` positions."""
        arc = arc_cost_matrix(self.energies, self.arc, n, self.arc_weight)
        return lock_positions(arc, self.locked, self.cost.shape[0], n)

    def mean_cost(self, order: list[int]) -> float:
        """Objective of a chosen order: (transition + arc costs) per transition."""
        if not order:
            return 0.0
        a = self.arc_matrix(len(order))
        return path_cost(self.cost, order, a) / max(1, len(order) - 1)

    def violation(self, length: float) -> float:
        """Seconds outside the length window (0 when the set fits)."""
        lo, hi = self.window
        return max(0.0, lo - length, length - hi)

    def score(self, order: list[int]) -> float:
        """What the search minimises: length violation first, then the mean cost."""
        return _LENGTH_PENALTY * self.violation(self.length(order)) + self.mean_cost(order)


def select_and_order(
    problem: SelectionProblem, *, seed: int = 0, time_budget_s: float = 2.0
) -> Solution:
    """Choose and order the set; deterministic for a seed (the wall clock only caps runaway runs)."""
    p = problem
    protected_length = p.length(sorted(p.protected))
    if protected_length > p.window[1]:
        raise SelectionError(
            f"the pinned and must-include tracks already play {protected_length / 60:.1f} min, "
            f"longer than the {p.window[1] / 60:.1f} min allowed"
        )
    if p.length(np.nonzero(p.allowed)[0]) < p.window[0]:
        raise SelectionError(
            f"the pool plays at most {p.length(np.nonzero(p.allowed)[0]) / 60:.1f} min, "
            f"shorter than the {p.window[0] / 60:.1f} min asked"
        )
    rng = np.random.default_rng(seed)
    deadline = time.monotonic() + wall_clock_cap(time_budget_s)
    n_starts = p.starts or min(32, max(2, round(2 * time_budget_s)))
    starts = _start_tracks(p, rng, n_starts)
    best: list[int] | None = None
    best_score = np.inf
    per_start = time_budget_s / max(1, len(starts))
    for start in starts:
        order = _construct(p, start)
        order = _improve(p, order, seed, per_start, deadline)
        value = p.score(order)
        if value < best_score - 1e-12:
            best, best_score = order, value
        if time.monotonic() > deadline:
            log.warning("selection stopped by the wall clock")
            break
    assert best is not None
    # kicks: swap a few tracks of the best set for random pool tracks and improve again
    for _kick in range(KICKS_PER_START * n_starts):
        if time.monotonic() > deadline:
            log.warning("selection stopped by the wall clock")
            break
        trial = _improve(p, _kick_out(p, best, rng), seed, per_start / 4, deadline)
        value = p.score(trial)
        if value < best_score - 1e-12:
            best, best_score = trial, value
    if p.violation(p.length(best)) > 0:
        lo, hi = p.window
        raise SelectionError(
            f"no selection fits {lo / 60:.1f}–{hi / 60:.1f} min with these constraints "
            f"(best found plays {p.length(best) / 60:.1f} min)"
        )
    a = p.arc_matrix(len(best))
    return Solution(tuple(best), path_cost(p.cost, best, a), "selection")


def _start_tracks(p: SelectionProblem, rng: np.random.Generator, count: int) -> list[int]:
    if p.first is not None:
        return [p.first]
    candidates = np.nonzero(p.allowed)[0]
    candidates = candidates[candidates != (p.last if p.last is not None else -1)]
    picks: list[int] = []
    if p.arc is not None:
        # a track whose energy fits the opening of the arc is a natural first choice
        fit = p.arc_matrix(2)[candidates, 0]
        picks.append(int(candidates[int(np.argmin(fit))]))
    extra = rng.permutation(candidates)[: max(0, count - len(picks))]
    picks.extend(int(x) for x in extra if int(x) not in picks)
    return picks


def _kick_out(p: SelectionProblem, order: list[int], rng: np.random.Generator) -> list[int]:
    """``order`` with up to :data:`KICK_TRACKS` unprotected tracks replaced by random pool tracks."""
    movable = [k for k, x in enumerate(order) if x not in p.protected]
    outside = np.nonzero(p.allowed & ~np.isin(np.arange(len(p.allowed)), order))[0]
    count = min(KICK_TRACKS, len(movable), len(outside))
    if count == 0:
        return list(order)
    trial = list(order)
    places = rng.choice(movable, size=count, replace=False)
    newcomers = rng.choice(outside, size=count, replace=False)
    for k, x in zip(places, newcomers, strict=True):
        trial[int(k)] = int(x)
    return trial


def _construct(p: SelectionProblem, start: int) -> list[int]:
    """Greedy append from ``start``, then includes inserted, then the length repaired."""
    mean_len = float(np.mean(p.durations[p.allowed])) - p.overlap_s
    n_est = max(2, round(p.target_s / max(mean_len, 1.0)))
    arc_est = p.arc_matrix(n_est)
    order = [start]
    free = p.allowed.copy()
    free[start] = False
    if p.last is not None:
        free[p.last] = False
    for x in p.include:
        free[x] = False  # placed below where they cost least
    reserved = p.length(
        sorted(set(p.include) - {start} | ({p.last} if p.last is not None else set()))
    )
    while p.length(order) + reserved < p.target_s - mean_len / 2 and free.any():
        row = p.cost[order[-1]].copy()
        if arc_est is not None:
            row += arc_est[:, min(len(order), n_est - 1)]
        row[~free] = np.inf
        nxt = int(np.argmin(row))
        order.append(nxt)
        free[nxt] = False
    for x in p.include:
        if x not in order and x != p.last:
            order = _cheapest_insert(p, order, x)
    if p.last is not None and p.last not in order:
        order.append(p.last)
    return order


def _cheapest_insert(p: SelectionProblem, order: list[int], x: int) -> list[int]:
    lo_gap = 1 if p.first is not None else 0
    best, best_value = [*order, x], np.inf
    for g in range(lo_gap, len(order) + 1):
        trial = [*order[:g], x, *order[g:]]
        value = p.mean_cost(trial)
        if value < best_value:
            best, best_value = trial, value
    return best


def _improve(
    p: SelectionProblem, order: list[int], seed: int, budget_s: float, deadline: float
) -> list[int]:
    current = _reorder(p, order, seed, budget_s / 4)
    score = p.score(current)
    while time.monotonic() < deadline:
        moved = _best_move(p, current)
        if moved is not None and p.score(moved) < score - 1e-12:
            current, score = moved, p.score(moved)
            continue
        reordered = _reorder(p, current, seed, budget_s / 4)
        if p.score(reordered) < score - 1e-12:
            current, score = reordered, p.score(reordered)
            continue
        break
    return current


def _reorder(p: SelectionProblem, order: list[int], seed: int, budget_s: float) -> list[int]:
    n = len(order)
    if n <= 2:
        return order
    idx = np.asarray(order)
    sub = p.cost[np.ix_(idx, idx)]
    a = p.arc_matrix(n)
    sub_arc = None if a is None else a[idx]
    first = 0 if p.first is not None else None
    last = n - 1 if p.last is not None else None
    if n <= EXACT_MAX_TRACKS:
        sol = held_karp(sub, sub_arc, first=first, last=last)
    else:
        sol = order_heuristic(
            sub,
            sub_arc,
            first=first,
            last=last,
            seed=seed,
            time_budget_s=budget_s,
            start=list(range(n)),
        )
    candidate = [order[k] for k in sol.order]
    return candidate if p.score(candidate) < p.score(order) else order


def _best_move(p: SelectionProblem, order: list[int]) -> list[int] | None:
    """The best single swap, insertion or removal by :meth:`SelectionProblem.score`, or None."""
    m = p.cost.shape[0]
    n = len(order)
    cp = p.padded_cost
    s = np.asarray(order)
    pad = np.concatenate([[m], s, [m]])
    edges = float(cp[pad[:-1], pad[1:]].sum())
    length = p.length(order)
    lo, hi = p.window
    in_set = np.zeros(m, dtype=bool)
    in_set[s] = True
    outside = np.nonzero(p.allowed & ~in_set)[0]
    movable = np.array([x not in p.protected for x in order])
    candidates: list[tuple[float, list[int]]] = []

    def penalised(total: np.ndarray, new_len: np.ndarray, transitions: int) -> np.ndarray:
        viol = np.maximum(0.0, np.maximum(lo - new_len, new_len - hi))
        return _LENGTH_PENALTY * viol + total / max(1, transitions)

    a_n = p.arc_matrix(n)
    arc_now = 0.0 if a_n is None else float(a_n[s, np.arange(n)].sum())
    # swap: the track at position k for an outside track x
    if len(outside) and movable.any():
        ks = np.nonzero(movable)[0]
        left, y, right = pad[ks], pad[ks + 1], pad[ks + 2]
        delta = (
            cp[left][:, outside] + cp[outside][:, right].T - (cp[left, y] + cp[y, right])[:, None]
        )
        if a_n is not None:
            delta += a_n[outside][:, ks].T - a_n[y, ks][:, None]
        new_len = length - p.durations[y][:, None] + p.durations[outside][None, :]
        value = penalised(edges + arc_now + delta, new_len, n - 1)
        k, xi = np.unravel_index(int(np.argmin(value)), value.shape)
        trial = order.copy()
        trial[int(ks[k])] = int(outside[xi])
        candidates.append((float(value[k, xi]), trial))
    # insert an outside track x before position g (g = 0 … n)
    if len(outside):
        g_lo = 1 if p.first is not None else 0
        g_hi = n - 1 if p.last is not None else n
        gaps = np.arange(g_lo, g_hi + 1)
        left, right = pad[gaps], pad[gaps + 1]
        delta = cp[left][:, outside] + cp[outside][:, right].T - cp[left, right][:, None]
        total = edges + delta
        a_up = p.arc_matrix(n + 1)
        if a_up is not None:
            stay = np.concatenate([[0.0], np.cumsum(a_up[s, np.arange(n)])])
            moved = np.concatenate([[0.0], np.cumsum(a_up[s, np.arange(1, n + 1)])])
            rest = stay[gaps] + (moved[n] - moved[gaps])
            total = total + rest[:, None] + a_up[outside][:, gaps].T
        new_len = length + p.durations[outside][None, :] - p.overlap_s
        value = penalised(total, np.broadcast_to(new_len, total.shape), n)
        gi, xi = np.unravel_index(int(np.argmin(value)), value.shape)
        g = int(gaps[gi])
        candidates.append((float(value[gi, xi]), [*order[:g], int(outside[xi]), *order[g:]]))
    # remove the track at position k
    if n > 2 and movable.any():
        ks = np.nonzero(movable)[0]
        left, y, right = pad[ks], pad[ks + 1], pad[ks + 2]
        total = edges - cp[left, y] - cp[y, right] + cp[left, right]
        a_down = p.arc_matrix(n - 1)
        if a_down is not None:
            idx = np.arange(n)
            stay = np.concatenate([[0.0], np.cumsum(a_down[s[:-1], idx[:-1]])])
            moved = np.concatenate([[0.0], np.cumsum(a_down[s[1:], idx[:-1]])])
            # tracks before k keep their place; tracks after k move one place forward
            rest = stay[ks] + (moved[n - 1] - moved[ks])
            total = total + rest
        new_len = length - p.durations[y] + p.overlap_s
        value = penalised(total, new_len, n - 2)
        k = int(np.argmin(value))
        trial = order[: int(ks[k])] + order[int(ks[k]) + 1 :]
        candidates.append((float(value[k]), trial))
    if not candidates:
        return None
    return min(candidates, key=lambda c: c[0])[1]
