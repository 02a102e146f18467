"""Choosing and ordering tracks: exact for small sets, iterated local search above, and selection.

Callers with tracks use :func:`service.dj.sequencing.plan.plan_set` (``SetRequest`` in,
``PlannedSet`` with tracks in play order and a scorecard out). The solvers below work on index-based
numpy matrices (see :mod:`.objective`), independent of how tracks are stored:

- :func:`held_karp` — the optimum, with the arc term and pinned ends, up to ``EXACT_MAX_TRACKS``;
- :func:`order_heuristic` — greedy construction, Or-opt, double-bridge kicks, exact-window polish;
- :func:`select_and_order` — choose a subset of a target length and order it;
- :func:`solve_order` — exact or heuristic by size.
"""

from __future__ import annotations

import numpy as np

from service.dj.sequencing.exact import EXACT_MAX_TRACKS, held_karp
from service.dj.sequencing.heuristic import greedy_order, local_search, order_heuristic
from service.dj.sequencing.objective import (
    FORBIDDEN,
    Solution,
    forbid,
    is_feasible,
    lock_positions,
    path_cost,
)
from service.dj.sequencing.selection import SelectionProblem, select_and_order

__all__ = [
    "EXACT_MAX_TRACKS",
    "FORBIDDEN",
    "SelectionProblem",
    "Solution",
    "forbid",
    "greedy_order",
    "held_karp",
    "is_feasible",
    "local_search",
    "lock_positions",
    "order_heuristic",
    "path_cost",
    "select_and_order",
    "solve_order",
]


def solve_order(
    cost: np.ndarray,
    arc: np.ndarray | None = None,
    *,
    first: int | None = None,
    last: int | None = None,
    seed: int = 0,
    time_budget_s: float = 2.0,
    exact_max: int = EXACT_MAX_TRACKS,
) -> Solution:
    """Order every track of ``cost``: exactly up to ``exact_max`` tracks, heuristically above."""
    n = cost.shape[0]
    if n <= exact_max:
        return held_karp(cost, arc, first=first, last=last)
    return order_heuristic(
        cost, arc, first=first, last=last, seed=seed, time_budget_s=time_budget_s
    )
