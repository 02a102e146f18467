"""Selection and order together: the best set of a target length from a larger pool.

The set's length comes from the set's clock (:func:`service.dj.timeline.set_length_s`: floor times
plus the last track's takeover); it must land in ``target · (1 ± tolerance)``. Among sets that fit,
the objective is the **mean** cost per transition (opening, transition, closing and arc costs divided
by the number of transitions): a total would reward sets of few long tracks merely for having fewer
transitions.

Search, deterministic for a seed:

1. construct from several starting tracks (two per second of budget, at most one per ten pool
   tracks, at least two): greedy appending (cheapest
   transition plus arc cost at the time the track would start) until the length is reached, then
   the must-include tracks inserted where they cost least;
2. improve by rounds of the best move among *swap* (a track of the set for one of the pool, at the
   same place), *insert* and *remove*: every position and every pool track is priced at once in
   numpy with the arc taken where the move lands, the :data:`SHORTLIST` best are priced exactly
   (the clock and the arc of the whole set), and the best exact one is taken if it improves;
   rounds alternate with a re-ordering of the chosen tracks (exact up to 15 tracks, the iterated
   local search above), until nothing improves;
3. kick the best set (three of its tracks swapped for random pool tracks) and improve again, two
   kicks per construction, keeping the better set.

A length outside the window counts before any cost (lexicographically), so the search first makes
the set fit and then makes it good. Pinned, included and locked tracks are never swapped out.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from service.dj.sequencing.exact import EXACT_MAX_TRACKS, held_karp
from service.dj.sequencing.heuristic import order_heuristic
from service.dj.sequencing.objective import OrderProblem, Solution
from service.dj.timeline import DEFAULT_OVERLAP_S, floor_s, set_length_s, takeover_s

__all__ = ["SelectionError", "SelectionProblem", "select_and_order"]

log = logging.getLogger(__name__)

#: Weight of one second outside the length window: larger than any cost difference.
_LENGTH_PENALTY = 1.0e8
#: Kicks from the best set per construction, and how many tracks each kick swaps out.
KICKS_PER_START = 2
KICK_TRACKS = 3
#: Moves per round priced exactly after the quick pricing of every move.
SHORTLIST = 16
#: Search budget of one re-ordering of the chosen tracks, per track (a set of 20 takes 5 ms).
REORDER_S_PER_TRACK = 0.25e-3


class SelectionError(ValueError):
    """The constraints cannot be met (e.g. the must-include tracks alone exceed the set length)."""


@dataclass
class SelectionProblem:
    """A pool as an ordering problem plus what the set must be; indices refer to the pool."""

    pool: OrderProblem  # every pool track; constraints priced in the matrix, arc term over the pool
    durations: np.ndarray  # seconds per track, unknown durations already filled in by the caller
    target_s: float
    tolerance: float = 0.05
    overlap_s: float = DEFAULT_OVERLAP_S
    allowed: np.ndarray | None = None  # bool per track: may be chosen
    include: tuple[int, ...] = ()
    locked: tuple[tuple[int, int], ...] = ()
    first: int | None = None
    last: int | None = None
    starts: int | None = None  # constructions to try; None: from the budget and pool (2–32)
    protected: frozenset[int] = field(init=False)
    floors: np.ndarray = field(init=False, repr=False)
    takeovers: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        m = self.pool.n
        if self.allowed is None:
            self.allowed = np.ones(m, dtype=bool)
        pins = {x for x in (self.first, self.last) if x is not None}
        locked = {x for pair in self.locked for x in pair}
        self.protected = frozenset(self.include) | pins | locked
        self.allowed = self.allowed.copy()
        self.allowed[list(self.protected)] = True
        self.floors = floor_s(self.durations, self.overlap_s)
        self.takeovers = takeover_s(self.durations, self.overlap_s)

    @property
    def window(self) -> tuple[float, float]:
        """Shortest and longest acceptable set length in seconds."""
        return self.target_s * (1 - self.tolerance), self.target_s * (1 + self.tolerance)

    def length(self, order: Sequence[int] | np.ndarray) -> float:
        """Played length of ``order`` in seconds, on the set's clock."""
        return set_length_s(self.durations[np.asarray(order, dtype=np.intp)], self.overlap_s)

    def objective(self, order: Sequence[int]) -> float:
        """Opening, transition, closing and arc costs of ``order``."""
        if not order:
            return 0.0
        m = self.pool.n
        padded = np.array([m, *order, m], dtype=np.intp)
        total = float(self.pool.matrix[padded[:-1], padded[1:]].astype(float).sum())
        if self.pool.arc is not None:
            total += self.pool.arc.total(order)
        return total

    def mean_cost(self, order: Sequence[int]) -> float:
        """Objective of a chosen order per transition."""
        return self.objective(order) / max(1, len(order) - 1)

    def violation(self, length: float) -> float:
        """Seconds outside the length window (0 when the set fits)."""
        lo, hi = self.window
        return max(0.0, lo - length, length - hi)

    def score(self, order: Sequence[int]) -> float:
        """What the search minimises: length violation first, then the mean cost."""
        return _LENGTH_PENALTY * self.violation(self.length(order)) + self.mean_cost(order)


def too_short_message(p: SelectionProblem) -> str:
    """What a DJ reads when the pool cannot fill the length asked: how long a set it can give."""
    allowed = np.flatnonzero(p.allowed)
    most = p.length(allowed)
    # the longest whole-minute target whose window this pool still reaches
    ask = int(most / (1 - p.tolerance) // 60) if p.tolerance < 1 else int(most // 60)
    which = (
        "this playlist" if len(allowed) == p.pool.n else "this playlist's tracks in the range asked"
    )
    unit = "minute" if ask == 1 else "minutes"
    advice = f"ask for {ask} {unit} or less, or add tracks" if ask >= 1 else "add tracks"
    return (
        f"{which} can give a set of at most {most / 60:.0f} min (all {len(allowed)} tracks, "
        f"mixed), shorter than the {p.target_s / 60:.0f} min asked: {advice}"
    )


def select_and_order(
    problem: SelectionProblem,
    *,
    seed: int = 0,
    time_budget_s: float = 2.0,
    deadline: float | None = None,
) -> Solution:
    """Choose and order the set; deterministic for a seed unless the ``deadline`` comes first."""
    p = problem
    protected_length = p.length(sorted(p.protected))
    if protected_length > p.window[1]:
        raise SelectionError(
            f"the pinned and must-include tracks already play {protected_length / 60:.1f} min, "
            f"longer than the {p.window[1] / 60:.1f} min allowed"
        )
    if p.length(np.flatnonzero(p.allowed)) < p.window[0]:
        raise SelectionError(too_short_message(p))
    rng = np.random.default_rng(seed)
    hard_stop = deadline if deadline is not None else time.monotonic() + 10 * time_budget_s + 1
    pool_size = int(np.count_nonzero(p.allowed))
    n_starts = p.starts or max(2, min(32, round(2 * time_budget_s), pool_size // 10))
    starts = _start_tracks(p, rng, n_starts)
    best: list[int] | None = None
    best_score = np.inf
    for start in starts:
        # the first set is always improved to a local optimum; the clock stops only further starts
        stop = hard_stop if best is not None else float("inf")
        order = _improve(p, _construct(p, start), seed, stop)
        value = p.score(order)
        if value < best_score - 1e-12:
            best, best_score = order, value
        if time.monotonic() > hard_stop and p.violation(p.length(best)) == 0:
            log.info("selection stopped by the clock")
            break
    assert best is not None
    # kicks: swap a few tracks of the best set for random pool tracks and improve again
    for _kick in range(KICKS_PER_START * n_starts):
        if time.monotonic() > hard_stop:
            log.info("selection stopped by the clock")
            break
        trial = _improve(p, _kick_out(p, best, rng), seed, hard_stop)
        value = p.score(trial)
        if value < best_score - 1e-12:
            best, best_score = trial, value
    if p.violation(p.length(best)) > 0:
        lo, hi = p.window
        raise SelectionError(
            f"no selection fits {lo / 60:.1f}–{hi / 60:.1f} min with these constraints "
            f"(best found plays {p.length(best) / 60:.1f} min)"
        )
    return Solution(tuple(best), p.objective(best), "selection")


def _start_tracks(p: SelectionProblem, rng: np.random.Generator, count: int) -> list[int]:
    if p.first is not None:
        return [p.first]
    candidates = np.flatnonzero(p.allowed & (p.pool.opening < 1.0))
    candidates = candidates[candidates != (p.last if p.last is not None else -1)]
    if len(candidates) == 0:
        candidates = np.flatnonzero(p.allowed)
    picks: list[int] = []
    if p.pool.arc is not None:
        # a track whose energy fits the opening of the arc is a natural first choice
        fit = p.pool.arc.at(candidates, np.zeros(len(candidates)))
        picks.append(int(candidates[int(np.argmin(fit))]))
    extra = rng.permutation(candidates)[: max(0, count - len(picks))]
    picks.extend(int(x) for x in extra if int(x) not in picks)
    return picks


def _kick_out(p: SelectionProblem, order: list[int], rng: np.random.Generator) -> list[int]:
    """``order`` with up to :data:`KICK_TRACKS` unprotected tracks replaced by random pool tracks."""
    movable = [k for k, x in enumerate(order) if x not in p.protected]
    outside = np.flatnonzero(p.allowed & ~np.isin(np.arange(len(p.allowed)), order))
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
    """Greedy append from ``start`` (arc priced at each track's start time), then the includes."""
    matrix = p.pool.matrix
    order = [start]
    free = p.allowed.copy()
    free[start] = False
    if p.last is not None:
        free[p.last] = False
    for x in p.include:
        free[x] = False  # placed below where they cost least
    rest = sorted(set(p.include) - {start} | ({p.last} if p.last is not None else set()))
    reserved = float(p.floors[rest].sum()) if rest else 0.0
    mean_floor = float(np.mean(p.floors[p.allowed]))
    elapsed = float(p.floors[start])
    while elapsed + reserved < p.target_s - mean_floor / 2 and free.any():
        row = matrix[order[-1], : p.pool.n].astype(float)
        if p.pool.arc is not None:
            where = (elapsed + 0.5 * p.floors) / max(p.target_s, 1.0)
            row += p.pool.arc.at(np.arange(p.pool.n), where)
        row[~free] = np.inf
        nxt = int(np.argmin(row))
        order.append(nxt)
        free[nxt] = False
        elapsed += float(p.floors[nxt])
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


def _improve(p: SelectionProblem, order: list[int], seed: int, hard_stop: float) -> list[int]:
    current = _reorder(p, order, seed, hard_stop)
    score = p.score(current)
    # past the deadline the search only goes on while the set does not fit yet
    while time.monotonic() < hard_stop or p.violation(p.length(current)) > 0:
        moved = _best_move(p, current)
        if moved is not None and p.score(moved) < score - 1e-12:
            current, score = moved, p.score(moved)
            continue
        reordered = _reorder(p, current, seed, hard_stop)
        if p.score(reordered) < score - 1e-12:
            current, score = reordered, p.score(reordered)
            continue
        break
    return current


def _reorder(p: SelectionProblem, order: list[int], seed: int, hard_stop: float) -> list[int]:
    n = len(order)
    if n <= 2:
        return order
    sub = p.pool.subproblem(order)
    if n <= EXACT_MAX_TRACKS:
        sol = held_karp(sub)
    else:
        sol = order_heuristic(
            sub,
            seed=seed,
            time_budget_s=REORDER_S_PER_TRACK * n,
            deadline=hard_stop,
            start=list(range(n)),
        )
    candidate = [order[k] for k in sol.order]
    return candidate if p.score(candidate) < p.score(order) else order


def _best_move(p: SelectionProblem, order: list[int]) -> list[int] | None:
    """The best single swap, insertion or removal by :meth:`SelectionProblem.score`, or None.

    Every move is priced quickly (transitions exact, the arc of the moved track at the progress it
    lands on, the length exact); the :data:`SHORTLIST` best are then scored exactly.
    """
    m = p.pool.n
    n = len(order)
    cp = p.pool.matrix
    arc = p.pool.arc
    s = np.asarray(order)
    pad = np.concatenate([[m], s, [m]])
    length = p.length(order)
    lo, hi = p.window
    in_set = np.zeros(m, dtype=bool)
    in_set[s] = True
    outside = np.flatnonzero(p.allowed & ~in_set)
    movable = np.array([x not in p.protected for x in order])
    floors, takeovers = p.floors, p.takeovers
    total_floor = float(floors[s].sum())
    where = (np.cumsum(floors[s]) - 0.5 * floors[s]) / max(total_floor, 1e-9)
    arc_now = arc.costs(s) if arc is not None else np.zeros(n)
    shortlist: list[tuple[float, list[int]]] = []

    def violation(new_len: np.ndarray) -> np.ndarray:
        return _LENGTH_PENALTY * np.maximum(0.0, np.maximum(lo - new_len, new_len - hi))

    def keep(values: np.ndarray, build) -> None:
        flat = values.ravel()
        count = min(SHORTLIST, flat.size)
        if count == 0:
            return
        for index in np.argpartition(flat, count - 1)[:count]:
            shortlist.append(
                (float(flat[index]), build(np.unravel_index(int(index), values.shape)))
            )

    # swap: the track at position k for an outside track x
    if len(outside) and movable.any():
        ks = np.flatnonzero(movable)
        left, y, right = pad[ks], pad[ks + 1], pad[ks + 2]
        delta = (
            cp[np.ix_(left, outside)]
            + cp[np.ix_(outside, right)].T
            - (cp[left, y] + cp[y, right])[:, None]
        ).astype(float)
        if arc is not None:
            delta += arc.at(outside[None, :], where[ks][:, None]) - arc_now[ks][:, None]
        new_len = length - floors[y][:, None] + floors[outside][None, :]
        ends = ks == n - 1  # the last track's takeover counts too
        new_len[ends] += takeovers[outside][None, :] - takeovers[y[ends]][:, None]
        values = violation(new_len) + delta / max(1, n - 1)

        def swap(index: tuple[int, ...]) -> list[int]:
            trial = order.copy()
            trial[int(ks[index[0]])] = int(outside[index[1]])
            return trial

        keep(values, swap)
    # insert an outside track x before position g (g = 0 … n)
    if len(outside):
        g_lo = 1 if p.first is not None else 0
        g_hi = n - 1 if p.last is not None else n
        gaps = np.arange(g_lo, g_hi + 1)
        left, right = pad[gaps], pad[gaps + 1]
        delta = (
            cp[np.ix_(left, outside)] + cp[np.ix_(outside, right)].T - cp[left, right][:, None]
        ).astype(float)
        if arc is not None:
            gap_where = np.concatenate([[0.0], np.cumsum(floors[s])])[gaps] / max(total_floor, 1e-9)
            delta += arc.at(outside[None, :], gap_where[:, None])
        new_len = np.broadcast_to(length + floors[outside][None, :], delta.shape).copy()
        ends = gaps == n
        new_len[ends] += takeovers[outside][None, :] - takeovers[s[-1]]
        values = violation(new_len) + delta / max(1, n)

        def insert(index: tuple[int, ...]) -> list[int]:
            g = int(gaps[index[0]])
            return [*order[:g], int(outside[index[1]]), *order[g:]]

        keep(values, insert)
    # remove the track at position k
    if n > 2 and movable.any():
        ks = np.flatnonzero(movable)
        left, y, right = pad[ks], pad[ks + 1], pad[ks + 2]
        delta = (cp[left, right] - cp[left, y] - cp[y, right]).astype(float) - arc_now[ks]
        new_len = length - floors[y]
        ends = ks == n - 1
        new_len[ends] += takeovers[s[-2]] - takeovers[y[ends]]
        values = violation(new_len) + delta / max(1, n - 2)

        def remove(index: tuple[int, ...]) -> list[int]:
            k = int(ks[index[0]])
            return order[:k] + order[k + 1 :]

        keep(values, remove)
    if not shortlist:
        return None
    shortlist.sort(key=lambda c: c[0])
    scored = [(p.score(trial), trial) for _, trial in shortlist[:SHORTLIST]]
    return min(scored, key=lambda c: c[0])[1]
