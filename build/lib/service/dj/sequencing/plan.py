"""From tracks and a DJ's request to a planned set: matrices in, tracks and a scorecard out.

This is the one place where track ids, constraints and options become index-based matrices for the
solvers (:mod:`.exact`, :mod:`.heuristic`, :mod:`.selection`) and the result becomes tracks again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from service.dj.arcs import DEFAULT_ARC_WEIGHT, Arc, arc_cost_matrix, parse_arc
from service.dj.costs import CostWeights, cost_matrix, tempo_change_matrix
from service.dj.scorecard import Scorecard, score_order
from service.dj.sequencing.exact import EXACT_MAX_TRACKS, held_karp
from service.dj.sequencing.heuristic import order_heuristic
from service.dj.sequencing.objective import (
    FORBIDDEN,
    forbid,
    is_feasible,
    lock_positions,
    path_cost,
)
from service.dj.sequencing.selection import SelectionError, SelectionProblem, select_and_order
from service.dj.tracks import Track
from service.dj.values import MAX_BPM, MIN_BPM

__all__ = [
    "SET_BPM_RANGE",
    "SET_MINUTES_RANGE",
    "PlannedSet",
    "SetError",
    "SetRequest",
    "plan_set",
]

log = logging.getLogger(__name__)

#: Length assumed for a track whose duration is unknown (a typical club track runs 5–7 min).
DEFAULT_TRACK_S = 360.0
#: Seconds two tracks overlap in a mix: a 16-bar blend at 128 BPM takes 30 s, a 32-bar one 60 s.
DEFAULT_OVERLAP_S = 45.0
#: Set lengths a DJ may ask for, in minutes: a five-minute teaser to a twelve-hour marathon.
SET_MINUTES_RANGE = (5, 720)
#: Tempo bounds a DJ may ask for: the tempos real tracks carry (``values.MIN_BPM``…``MAX_BPM``).
SET_BPM_RANGE = (MIN_BPM, MAX_BPM)


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


@dataclass(frozen=True)
class PlannedSet:
    """The chosen tracks in play order, their scorecard and how the order was found."""

    tracks: tuple[Track, ...]
    scorecard: Scorecard
    method: str  # "exact", "heuristic" or "selection"
    optimal: bool
    arc: Arc | None
    objective: float


def mix_overlap_s(pool: Sequence[Track], requested_s: float) -> float:
    """Seconds to count per mix: as requested, but at most half the shortest known track.

    Short edits, previews and the 12-second demo clips would otherwise give sets a negative length.
    """
    known = [t.duration_s for t in pool if t.duration_s and t.duration_s > 0]
    return min(requested_s, 0.5 * min(known)) if known else requested_s


def plan_set(pool: Sequence[Track], request: SetRequest) -> PlannedSet:
    """Choose (when a duration is given) and order tracks from ``pool`` under ``request``."""
    request = replace(request, overlap_s=mix_overlap_s(pool, request.overlap_s))
    by_id = {t.id: k for k, t in enumerate(pool)}
    arc = parse_arc(request.arc)

    def index(track_id: str, what: str) -> int:
        if track_id not in by_id:
            raise SetError(f"{what} track {track_id!r} is not in the pool")
        return by_id[track_id]

    excluded = {index(x, "excluded") for x in request.exclude}
    first = index(request.first, "first") if request.first is not None else None
    last = index(request.last, "last") if request.last is not None else None
    include = {index(x, "included") for x in request.include}
    locked = [(index(a, "locked"), index(b, "locked")) for a, b in request.locked_pairs]
    for a, b in locked:
        include |= {a, b}  # a locked pair is played, back to back, in that order
    required = include | {x for x in (first, last) if x is not None}
    if clash := required & excluded:
        names = ", ".join(sorted(pool[k].id for k in clash))
        raise SetError(f"track(s) {names} are both required and excluded")
    if first is not None and first == last and len(pool) > 1:
        raise SetError("the first and the last track are the same track")
    _check_locks(locked, first, last, pool)

    allowed = np.ones(len(pool), dtype=bool)
    allowed[list(excluded)] = False
    if request.bpm_range is not None:
        lo, hi = request.bpm_range
        bpm = np.array([t.bpm if t.bpm else np.nan for t in pool])
        with np.errstate(invalid="ignore"):
            allowed &= (bpm >= lo) & (bpm <= hi)
    allowed[list(required)] = True  # a track the DJ names explicitly is kept whatever its BPM

    if request.duration_s is None:
        chosen = np.nonzero(allowed)[0]
        return _order_all(pool, chosen, request, arc, first, last, locked)
    return _select(pool, allowed, request, arc, first, last, include, locked)


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


def _matrix(
    pool: Sequence[Track], request: SetRequest, locked: list[tuple[int, int]]
) -> np.ndarray:
    cost = cost_matrix(pool, request.weights)
    forbidden = None
    if request.max_tempo_step_pct is not None:
        change = np.abs(tempo_change_matrix(pool))
        with np.errstate(invalid="ignore"):
            forbidden = change > request.max_tempo_step_pct  # unknown BPM: not forbidden
    return forbid(cost, locked_pairs=locked, forbidden=forbidden)


def _order_all(
    pool: Sequence[Track],
    chosen: np.ndarray,
    request: SetRequest,
    arc: Arc | None,
    first: int | None,
    last: int | None,
    locked: list[tuple[int, int]],
) -> PlannedSet:
    sub_pool = [pool[k] for k in chosen]
    local = {int(k): i for i, k in enumerate(chosen)}
    sub_locked = [(local[a], local[b]) for a, b in locked]
    cost = _matrix(sub_pool, request, sub_locked)
    a = arc_cost_matrix([t.energy for t in sub_pool], arc, len(sub_pool), request.arc_weight)
    a = lock_positions(a, sub_locked, len(sub_pool), len(sub_pool))
    f = local[first] if first is not None else None
    la = local[last] if last is not None else None
    n = len(sub_pool)
    if n <= EXACT_MAX_TRACKS:
        sol = held_karp(cost, a, first=f, last=la)
    else:
        sol = order_heuristic(
            cost, a, first=f, last=la, seed=request.seed, time_budget_s=request.time_budget_s
        )
    objective = path_cost(cost, sol.order, a)
    if not is_feasible(objective):
        raise SetError(_infeasible_reason(request))
    tracks = tuple(sub_pool[k] for k in sol.order)
    return _finish(tracks, request, arc, sol.method, sol.optimal, objective)


def _select(
    pool: Sequence[Track],
    allowed: np.ndarray,
    request: SetRequest,
    arc: Arc | None,
    first: int | None,
    last: int | None,
    include: set[int],
    locked: list[tuple[int, int]],
) -> PlannedSet:
    cost = _matrix(pool, request, locked)
    durations = np.array(
        [t.duration_s if t.duration_s and t.duration_s > 0 else DEFAULT_TRACK_S for t in pool]
    )
    energies = np.array([np.nan if t.energy is None else float(t.energy) for t in pool])
    problem = SelectionProblem(
        cost=cost,
        energies=energies,
        durations=durations,
        target_s=float(request.duration_s or 0.0),
        tolerance=request.tolerance,
        overlap_s=request.overlap_s,
        arc=arc,
        arc_weight=request.arc_weight,
        allowed=allowed,
        include=tuple(sorted(include)),
        locked=tuple(locked),
        first=first,
        last=last,
    )
    try:
        sol = select_and_order(problem, seed=request.seed, time_budget_s=request.time_budget_s)
    except SelectionError as exc:
        raise SetError(str(exc)) from exc
    if not is_feasible(sol.objective):
        raise SetError(_infeasible_reason(request))
    tracks = tuple(pool[k] for k in sol.order)
    return _finish(tracks, request, arc, sol.method, False, sol.objective)


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
) -> PlannedSet:
    card = score_order(
        tracks,
        weights=request.weights,
        arc=arc,
        arc_weight=request.arc_weight,
        overlap_s=request.overlap_s,
    )
    log.info("planned %d tracks by %s, objective %.3f", len(tracks), method, objective)
    return PlannedSet(tracks, card, method, optimal, arc, objective)
