"""From tracks and a DJ's request to a planned set: matrices in, tracks and a scorecard out.

This is the one place where track ids, constraints and options become the solvers' index-based
:class:`~service.dj.sequencing.objective.OrderProblem` (:func:`order_problem`, also what
``aidj set costs --with-constraints`` prints) and the result becomes tracks again.

The time budget: the search spends work derived from ``time_budget_s`` (deterministic for a seed).
When ``SetRequest.started_at`` is given (the command line gives its own start), the budget is the
whole command's and the wall clock stops the search early enough that scoring and writing the set
still fit; without it the wall clock is only a safety net at ten times the budget.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from service.dj.arcs import DEFAULT_ARC_WEIGHT, Arc, parse_arc
from service.dj.costs import FLOAT32_FROM, CostWeights, cost_matrix, tempo_change_matrix
from service.dj.scorecard import Scorecard, score_order
from service.dj.sequencing.exact import EXACT_MAX_TRACKS, held_karp
from service.dj.sequencing.heuristic import order_heuristic
from service.dj.sequencing.objective import (
    FORBIDDEN,
    ArcTerm,
    OrderProblem,
    SearchStats,
    constrain,
    is_feasible,
)
from service.dj.sequencing.selection import SelectionError, SelectionProblem, select_and_order
from service.dj.timeline import DEFAULT_OVERLAP_S, durations, floor_s
from service.dj.tracks import Track
from service.dj.values import MAX_BPM, MIN_BPM

__all__ = [
    "DEFAULT_OVERLAP_S",
    "SET_BPM_RANGE",
    "SET_MINUTES_RANGE",
    "PlannedSet",
    "SetError",
    "SetRequest",
    "constrained_problem",
    "finishing_s",
    "order_problem",
    "plan_set",
]

log = logging.getLogger(__name__)

#: Set lengths a DJ may ask for, in minutes: a five-minute teaser to a twelve-hour marathon.
SET_MINUTES_RANGE = (5, 720)
#: Tempo bounds a DJ may ask for: the tempos real tracks carry (``values.MIN_BPM``…``MAX_BPM``).
SET_BPM_RANGE = (MIN_BPM, MAX_BPM)
#: Rows of the tempo-limit mask computed at once (keeps its float temporaries small).
_MASK_ROWS = 256


class SetError(ValueError):
    """A request that cannot be planned; the message says which constraint and why."""


@dataclass(frozen=True)
class SetRequest:
    """What the DJ asks for. Ids refer to ``Track.id``; ``duration_s`` None orders the whole pool."""

    duration_s: float | None = None
    tolerance: float = 0.05
    arc: str | Arc | None = None
    first: str | None = None
    last: str | None = None
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    locked_pairs: tuple[tuple[str, str], ...] = ()
    bpm_range: tuple[float, float] | None = None
    max_tempo_step_pct: float | None = None
    seed: int = 0
    time_budget_s: float = 2.0
    weights: CostWeights = field(default_factory=CostWeights)
    arc_weight: float = DEFAULT_ARC_WEIGHT
    overlap_s: float = DEFAULT_OVERLAP_S
    started_at: float | None = None  # time.monotonic() when a whole-command budget started


@dataclass(frozen=True)
class PlannedSet:
    """The chosen tracks in play order, their scorecard and how the order was found."""

    tracks: tuple[Track, ...]
    scorecard: Scorecard
    method: str  # "exact", "heuristic" or "selection"
    optimal: bool
    arc: Arc | None
    objective: float
    stats: SearchStats | None = None


def finishing_s(n_tracks: int) -> float:
    """Seconds to keep after the search for scoring, notes and export of ``n_tracks`` tracks."""
    return 0.15 + 300e-6 * n_tracks  # measured: 5,000 tracks score, annotate and export in 1.4 s


class _Indexed:
    """A request's track ids as pool indices, checked."""

    def __init__(self, pool: Sequence[Track], request: SetRequest) -> None:
        by_id = {t.id: k for k, t in enumerate(pool)}

        def index(track_id: str, what: str) -> int:
            if track_id not in by_id:
                raise SetError(f"{what} track {track_id!r} is not in the pool")
            return by_id[track_id]

        self.excluded = {index(x, "excluded") for x in request.exclude}
        self.first = index(request.first, "first") if request.first is not None else None
        self.last = index(request.last, "last") if request.last is not None else None
        self.include = {index(x, "included") for x in request.include}
        self.locked = [(index(a, "locked"), index(b, "locked")) for a, b in request.locked_pairs]
        for a, b in self.locked:
            self.include |= {a, b}  # a locked pair is played, back to back, in that order
        self.required = self.include | {x for x in (self.first, self.last) if x is not None}
        if clash := self.required & self.excluded:
            names = ", ".join(sorted(pool[k].id for k in clash))
            raise SetError(f"track(s) {names} are both required and excluded")
        if self.first is not None and self.first == self.last and len(pool) > 1:
            raise SetError("the first and the last track are the same track")
        _check_locks(self.locked, self.first, self.last, pool)


def _deadline(request: SetRequest, n_tracks: int) -> float:
    """When the search must stop (a ``time.monotonic()`` value)."""
    if request.started_at is None:
        return time.monotonic() + 10.0 * request.time_budget_s + 1.0  # a safety net only
    return request.started_at + request.time_budget_s - finishing_s(n_tracks)


def plan_set(pool: Sequence[Track], request: SetRequest) -> PlannedSet:
    """Choose (when a duration is given) and order tracks from ``pool`` under ``request``."""
    idx = _Indexed(pool, request)
    arc = parse_arc(request.arc)

    allowed = np.ones(len(pool), dtype=bool)
    allowed[list(idx.excluded)] = False
    if request.bpm_range is not None:
        lo, hi = request.bpm_range
        bpm = np.array([t.bpm if t.bpm else np.nan for t in pool])
        with np.errstate(invalid="ignore"):
            allowed &= (bpm >= lo) & (bpm <= hi)
    allowed[list(idx.required)] = True  # a track the DJ names explicitly is kept whatever its BPM

    if request.duration_s is None:
        chosen = np.flatnonzero(allowed)
        return _order_all(pool, chosen, request, arc, idx, _deadline(request, len(chosen)))
    return _select(pool, allowed, request, arc, idx, _deadline(request, 64))


def _check_locks(
    locked: list[tuple[int, int]], first: int | None, last: int | None, pool: Sequence[Track]
) -> None:
    succ: dict[int, int] = {}
    pred: dict[int, int] = {}
    for a, b in locked:
        if a == b or succ.get(a, b) != b or pred.get(b, a) != a:
            raise SetError(f"locked pairs around {pool[a].id!r} contradict each other")
        succ[a], pred[b] = b, a
        if b == first or a == last:
            raise SetError(f"locked pair {pool[a].id!r} → {pool[b].id!r} conflicts with a pin")
    seen: set[int] = set()
    for start in succ:  # a cycle a → b → … → a can never be played
        node, path = start, set()
        while node in succ and node not in seen:
            if node in path:
                raise SetError(f"locked pairs form a loop through {pool[node].id!r}")
            path.add(node)
            node = succ[node]
        seen |= path


def order_problem(
    tracks: Sequence[Track],
    request: SetRequest,
    *,
    first: int | None = None,
    last: int | None = None,
    locked: Sequence[tuple[int, int]] = (),
    arc: Arc | None = None,
) -> OrderProblem:
    """The problem the solvers see for ``tracks``: costs, pins, locks, tempo limit and arc.

    The matrix is built in place, block by block (float32 from ``FLOAT32_FROM`` tracks), so a large
    pool never holds two matrices.
    """
    n = len(tracks)
    matrix = np.zeros((n + 1, n + 1), dtype=np.float32 if n >= FLOAT32_FROM else np.float64)
    cost_matrix(tracks, request.weights, out=matrix[:n, :n])
    forbidden = None
    if request.max_tempo_step_pct is not None and n:
        forbidden = np.zeros((n, n), dtype=bool)
        for lo in range(0, n, _MASK_ROWS):
            change = np.abs(tempo_change_matrix(tracks, rows=slice(lo, lo + _MASK_ROWS)))
            with np.errstate(invalid="ignore"):
                forbidden[lo : lo + _MASK_ROWS] = change > request.max_tempo_step_pct
    constrain(matrix, first=first, last=last, locked_pairs=locked, forbidden=forbidden)
    floors = floor_s(durations(tracks), request.overlap_s)
    term = ArcTerm.build([t.energy for t in tracks], floors, arc, request.arc_weight)
    return OrderProblem(matrix, term)


def constrained_problem(pool: Sequence[Track], request: SetRequest) -> OrderProblem:
    """The problem the solver sees when ordering all of ``pool`` under ``request``'s pins, locks,
    tempo limit and arc (what ``aidj set costs --with-constraints`` prints)."""
    idx = _Indexed(pool, request)
    return order_problem(
        pool,
        request,
        first=idx.first,
        last=idx.last,
        locked=idx.locked,
        arc=parse_arc(request.arc),
    )


def _order_all(
    pool: Sequence[Track],
    chosen: np.ndarray,
    request: SetRequest,
    arc: Arc | None,
    idx: _Indexed,
    deadline: float,
) -> PlannedSet:
    sub_pool = [pool[k] for k in chosen]
    local = {int(k): i for i, k in enumerate(chosen)}
    problem = order_problem(
        sub_pool,
        request,
        first=local[idx.first] if idx.first is not None else None,
        last=local[idx.last] if idx.last is not None else None,
        locked=[(local[a], local[b]) for a, b in idx.locked],
        arc=arc,
    )
    if problem.n <= EXACT_MAX_TRACKS:
        sol = held_karp(problem)
    else:
        sol = order_heuristic(
            problem,
            seed=request.seed,
            time_budget_s=request.time_budget_s,
            deadline=deadline,
        )
    if not is_feasible(sol.objective):
        raise SetError(_infeasible_reason(request))
    tracks = tuple(sub_pool[k] for k in sol.order)
    return _finish(tracks, request, arc, sol.method, sol.optimal, sol.objective, sol.stats)


def _select(
    pool: Sequence[Track],
    allowed: np.ndarray,
    request: SetRequest,
    arc: Arc | None,
    idx: _Indexed,
    deadline: float,
) -> PlannedSet:
    problem = SelectionProblem(
        pool=order_problem(
            pool, request, first=idx.first, last=idx.last, locked=idx.locked, arc=arc
        ),
        durations=durations(pool),
        target_s=float(request.duration_s or 0.0),
        tolerance=request.tolerance,
        overlap_s=request.overlap_s,
        allowed=allowed,
        include=tuple(sorted(idx.include)),
        locked=tuple(idx.locked),
        first=idx.first,
        last=idx.last,
    )
    try:
        sol = select_and_order(
            problem, seed=request.seed, time_budget_s=request.time_budget_s, deadline=deadline
        )
    except SelectionError as exc:
        raise SetError(str(exc)) from exc
    if not is_feasible(sol.objective):
        raise SetError(_infeasible_reason(request))
    tracks = tuple(pool[k] for k in sol.order)
    return _finish(tracks, request, arc, sol.method, False, sol.objective, sol.stats)


def _infeasible_reason(request: SetRequest) -> str:
    reasons = []
    if request.max_tempo_step_pct is not None:
        reasons.append(f"a tempo step of at most {request.max_tempo_step_pct:g} %")
    if request.locked_pairs:
        reasons.append("the locked pairs")
    detail = " and ".join(reasons) or "the constraints"
    return f"no order satisfies {detail}: every order breaks at least one (cost ≥ {FORBIDDEN:g})"


def _finish(
    tracks: tuple[Track, ...],
    request: SetRequest,
    arc: Arc | None,
    method: str,
    optimal: bool,
    objective: float,
    stats: SearchStats | None,
) -> PlannedSet:
    card = score_order(
        tracks,
        weights=request.weights,
        arc=arc,
        arc_weight=request.arc_weight,
        overlap_s=request.overlap_s,
    )
    log.info("planned %d tracks by %s, objective %.3f", len(tracks), method, objective)
    return PlannedSet(tracks, card, method, optimal, arc, objective, stats)
