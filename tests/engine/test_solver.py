"""The solvers: exact where promised, never worse than greedy, deterministic, pins respected."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.dj.arcs import PRESETS, arc_cost_matrix
from service.dj.sequencing import (
    FORBIDDEN,
    forbid,
    greedy_order,
    held_karp,
    local_search,
    lock_positions,
    order_heuristic,
    path_cost,
    solve_order,
)


@st.composite
def instances(draw: st.DrawFn, max_n: int = 7) -> dict:
    """A random asymmetric cost matrix, maybe an arc, maybe pinned first/last tracks."""
    n = draw(st.integers(2, max_n))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    cost = rng.random((n, n)) * draw(st.sampled_from([1.0, 3.0]))
    np.fill_diagonal(cost, 0.0)
    arc = None
    if draw(st.booleans()):
        energies = rng.integers(1, 11, n)
        arc = arc_cost_matrix(energies, PRESETS[draw(st.sampled_from(list(PRESETS)))], n)
    first = draw(st.one_of(st.none(), st.integers(0, n - 1)))
    last = draw(st.one_of(st.none(), st.integers(0, n - 1)))
    if last == first:
        last = None
    return {"cost": cost, "arc": arc, "first": first, "last": last}


def brute_force(cost: np.ndarray, arc, first, last) -> float:
    n = cost.shape[0]
    return min(
        path_cost(cost, order, arc)
        for order in itertools.permutations(range(n))
        if (first is None or order[0] == first) and (last is None or order[-1] == last)
    )


@settings(max_examples=150, deadline=None)
@given(instances())
def test_exact_solver_equals_brute_force(inst: dict) -> None:
    solution = held_karp(inst["cost"], inst["arc"], first=inst["first"], last=inst["last"])
    assert solution.optimal
    assert solution.objective == pytest.approx(brute_force(**inst), abs=1e-9)
    assert sorted(solution.order) == list(range(inst["cost"].shape[0]))
    if inst["first"] is not None:
        assert solution.order[0] == inst["first"]
    if inst["last"] is not None:
        assert solution.order[-1] == inst["last"]


def test_exact_solver_handles_twelve_tracks_with_an_arc() -> None:
    rng = np.random.default_rng(12)
    cost = rng.random((12, 12))
    arc = arc_cost_matrix(rng.integers(1, 11, 12), PRESETS["journey"], 12)
    exact = held_karp(cost, arc)
    assert exact.optimal
    # no random order, and no heuristic, beats it
    for _ in range(2000):
        assert path_cost(cost, rng.permutation(12), arc) >= exact.objective - 1e-9
    assert order_heuristic(cost, arc, time_budget_s=0.2).objective >= exact.objective - 1e-9


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_n=30))
def test_heuristic_is_never_worse_than_greedy_and_keeps_pins(inst: dict) -> None:
    n = inst["cost"].shape[0]
    if inst["arc"] is not None:
        inst["arc"] = arc_cost_matrix(np.arange(n) % 10 + 1, PRESETS["build"], n)
    greedy = greedy_order(inst["cost"], inst["arc"], first=inst["first"], last=inst["last"])
    found = order_heuristic(
        inst["cost"], inst["arc"], first=inst["first"], last=inst["last"], time_budget_s=0.02
    )
    assert found.objective <= greedy.objective + 1e-9
    assert sorted(found.order) == list(range(n))
    if inst["first"] is not None:
        assert found.order[0] == inst["first"]
    if inst["last"] is not None:
        assert found.order[-1] == inst["last"]


def test_heuristic_finds_the_optimum_of_small_sets_most_of_the_time() -> None:
    rng = np.random.default_rng(5)
    hits = 0
    for _ in range(10):
        cost = rng.random((10, 10))
        hits += order_heuristic(cost, time_budget_s=0.1).objective <= (
            held_karp(cost).objective + 1e-9
        )
    assert hits >= 8


def test_same_seed_gives_the_same_order_and_the_search_reports_its_objective() -> None:
    rng = np.random.default_rng(7)
    cost = rng.random((60, 60))
    arc = arc_cost_matrix(rng.integers(1, 11, 60), PRESETS["journey"], 60)
    a = order_heuristic(cost, arc, seed=3, time_budget_s=0.1)
    b = order_heuristic(cost, arc, seed=3, time_budget_s=0.1)
    assert a.order == b.order
    assert a.objective == pytest.approx(path_cost(cost, a.order, arc))


def test_local_search_reaches_a_local_optimum_it_cannot_improve() -> None:
    rng = np.random.default_rng(9)
    cost = rng.random((40, 40))
    order, _ = local_search(cost, None, list(range(40)))
    again, _ = local_search(cost, None, order)
    assert path_cost(cost, again) == pytest.approx(path_cost(cost, order))
    assert path_cost(cost, order) < path_cost(cost, list(range(40)))


def test_solve_order_is_exact_up_to_the_limit_and_heuristic_above() -> None:
    rng = np.random.default_rng(1)
    assert solve_order(rng.random((12, 12))).method == "exact"
    assert solve_order(rng.random((30, 30)), time_budget_s=0.05).method == "heuristic"


def test_a_locked_pair_is_kept_together_in_order() -> None:
    rng = np.random.default_rng(2)
    pairs = [(3, 10), (10, 8)]
    for n in (12, 25):
        cost = forbid(rng.random((n, n)), locked_pairs=pairs)
        arc = lock_positions(None, pairs, n, n)
        solution = solve_order(cost, arc, time_budget_s=0.05)
        order = list(solution.order)
        assert order[order.index(3) + 1 : order.index(3) + 3] == [10, 8]
        assert solution.objective < FORBIDDEN


def test_forbidden_transitions_are_avoided_when_possible() -> None:
    rng = np.random.default_rng(4)
    cost = rng.random((20, 20))
    banned = rng.random((20, 20)) < 0.5
    np.fill_diagonal(banned, False)
    solution = order_heuristic(forbid(cost, forbidden=banned), time_budget_s=0.1)
    order = solution.order
    assert not any(banned[a, b] for a, b in itertools.pairwise(order))
