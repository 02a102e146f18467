"""Choosing and ordering tracks: exact for small sets, iterated local search above, and selection.

Callers with tracks use :func:`service.dj.sequencing.plan.plan_set` (``SetRequest`` in,
``PlannedSet`` with tracks in play order and a scorecard out). The solvers below work on an index-based
:class:`OrderProblem` (see :mod:`.objective`), independent of how tracks are stored:

- :func:`held_karp` — the optimum, with the arc term, openings and closings, up to ``EXACT_MAX_TRACKS``;
- :func:`order_heuristic` — candidate lists, greedy construction, Or-opt, or-3opt and 2-opt local
  search, double-bridge kicks (compiled, :mod:`.kernels`);
- :func:`select_and_order` — choose a subset of a target length and order it;
- :func:`solve_order` — exact or heuristic by size.
"""

from __future__ import annotations

from service.dj.sequencing.exact import EXACT_MAX_TRACKS, held_karp
from service.dj.sequencing.heuristic import greedy_order, local_search, order_heuristic
from service.dj.sequencing.objective import (
    FORBIDDEN,
    ArcTerm,
    OrderProblem,
    SearchStats,
    Solution,
    is_feasible,
    path_cost,
)
from service.dj.sequencing.selection import SelectionProblem, select_and_order

__all__ = [
    "EXACT_MAX_TRACKS",
    "FORBIDDEN",
    "ArcTerm",
    "OrderProblem",
    "SearchStats",
    "SelectionProblem",
    "Solution",
    "greedy_order",
    "held_karp",
    "is_feasible",
    "local_search",
    "order_heuristic",
    "path_cost",
    "select_and_order",
    "solve_order",
]


def solve_order(
    problem: OrderProblem,
    *,
    seed: int = 0,
    time_budget_s: float = 2.0,
    deadline: float | None = None,
    exact_max: int = EXACT_MAX_TRACKS,
) -> Solution:
    """Order every track of ``problem``: exactly up to ``exact_max`` tracks, heuristically above."""
    if problem.n <= exact_max:
        return held_karp(problem)
    return order_heuristic(problem, seed=seed, time_budget_s=time_budget_s, deadline=deadline)
