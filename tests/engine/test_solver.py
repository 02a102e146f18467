"""The solvers: exact where promised, locally optimal for every move they know, never worse than
greedy, deterministic, and every pin, lock and forbidden transition kept."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.dj.arcs import PRESETS
from service.dj.sequencing import (
    FORBIDDEN,
    ArcTerm,
    OrderProblem,
    greedy_order,
    held_karp,
    local_search,
    order_heuristic,
    solve_order,
)
from service.dj.sequencing import heuristic as heuristic_module
from service.dj.sequencing.kernels import MAX_RUN


def arc_term(rng: np.random.Generator, n: int, name: str = "journey") -> ArcTerm:
    """An arc over tracks of random energies and lengths (some short edits among them)."""
    energies = rng.integers(1, 11, n).astype(float)
    energies[rng.random(n) < 0.1] = np.nan  # some energies unknown
    floors = rng.choice([90.0, 240.0, 315.0, 420.0], size=n)
    return ArcTerm.build(energies, floors, PRESETS[name])


@st.composite
def instances(draw: st.DrawFn, max_n: int = 7) -> OrderProblem:
    """A random asymmetric matrix, maybe an arc, maybe pinned first/last tracks."""
    n = draw(st.integers(2, max_n))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    cost = rng.random((n, n)) * draw(st.sampled_from([1.0, 3.0]))
    arc = arc_term(rng, n, draw(st.sampled_from(list(PRESETS)))) if draw(st.booleans()) else None
    first = draw(st.one_of(st.none(), st.integers(0, n - 1)))
    last = draw(st.one_of(st.none(), st.integers(0, n - 1)))
    return OrderProblem.build(cost, arc, first=first, last=None if last == first else last)


def brute_force(problem: OrderProblem) -> float:
    return min(problem.objective(order) for order in itertools.permutations(range(problem.n)))


@settings(max_examples=150, deadline=None)
@given(instances())
def test_exact_solver_equals_brute_force(problem: OrderProblem) -> None:
    solution = held_karp(problem)
    assert solution.optimal
    assert solution.objective == pytest.approx(brute_force(problem), abs=1e-9)
    assert sorted(solution.order) == list(range(problem.n))
    first, last = problem.pinned()
    if first is not None:
        assert solution.order[0] == first
    if last is not None:
        assert solution.order[-1] == last


def _moves(n: int):
    """Every order one Or-opt move, segment swap or reversal away (positions 0…n−1): the moves the
    search makes exhaustively (swaps with a stretch played backwards it tries LK-style only)."""
    base = list(range(n))
    for length in range(1, MAX_RUN + 1):  # Or-opt: a run to another gap, as is or reversed
        for i in range(n - length + 1):
            run, rest = base[i : i + length], base[:i] + base[i + length :]
            for g in range(len(rest) + 1):
                for piece in (run, run[::-1]) if length > 1 else (run,):
                    yield rest[:g] + piece + rest[g:]
    for i, j, k in itertools.combinations(range(n + 1), 3):  # two neighbouring stretches swap
        yield base[:i] + base[j:k] + base[i:j] + base[k:]
    for i in range(n):  # a stretch played backwards
        for j in range(i + 2, n + 1):
            yield base[:i] + base[i:j][::-1] + base[j:]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(5, 14), st.integers(0, 2**32 - 1), st.booleans(), st.booleans())
def test_a_local_optimum_admits_no_improving_move_of_any_kind(
    n: int, seed: int, with_arc: bool, pinned: bool
) -> None:
    rng = np.random.default_rng(seed)
    arc = arc_term(rng, n) if with_arc else None
    problem = OrderProblem.build(
        rng.random((n, n)), arc, first=0 if pinned else None, last=n - 1 if pinned else None
    )
    saved = heuristic_module.CANDIDATES
    heuristic_module.CANDIDATES = n  # every transition is a candidate: the search is exhaustive
    try:
        start = [int(x) for x in rng.permutation(n)] if not pinned else list(range(n))
        order = local_search(problem, start)
    finally:
        heuristic_module.CANDIDATES = saved
    value = problem.objective(order)
    assert value <= problem.objective(start) + 1e-9
    for moved in _moves(n):
        assert problem.objective([order[k] for k in moved]) >= value - 1e-7


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances(max_n=30))
def test_heuristic_is_never_worse_than_greedy_and_keeps_pins(problem: OrderProblem) -> None:
    greedy = greedy_order(problem)
    found = order_heuristic(problem, time_budget_s=0.02)
    assert found.objective <= greedy.objective + 1e-9
    assert found.objective == pytest.approx(problem.objective(found.order))
    assert sorted(found.order) == list(range(problem.n))
    first, last = problem.pinned()
    if first is not None:
        assert found.order[0] == first
    if last is not None:
        assert found.order[-1] == last


@st.composite
def constrained(draw: st.DrawFn) -> tuple[OrderProblem, list[tuple[int, int]], np.ndarray]:
    """Pins, locked pairs and forbidden transitions around a hidden order that keeps them all."""
    n = draw(st.integers(16, 60))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    hidden = [int(x) for x in rng.permutation(n)]
    forbidden = rng.random((n, n)) < draw(st.sampled_from([0.0, 0.3, 0.7]))
    for a, b in itertools.pairwise(hidden):
        forbidden[a, b] = False
    np.fill_diagonal(forbidden, False)
    starts = draw(st.lists(st.integers(0, n - 2), max_size=4, unique=True))
    locked = [(hidden[k], hidden[k + 1]) for k in starts]
    problem = OrderProblem.build(
        rng.random((n, n)),
        arc_term(rng, n) if draw(st.booleans()) else None,
        first=hidden[0] if draw(st.booleans()) else None,
        last=hidden[-1] if draw(st.booleans()) else None,
        locked_pairs=locked,
        forbidden=forbidden,
    )
    return problem, locked, forbidden


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(constrained(), st.integers(0, 3))
def test_every_pin_lock_and_forbidden_transition_holds_under_the_moves(
    case: tuple[OrderProblem, list[tuple[int, int]], np.ndarray], seed: int
) -> None:
    problem, locked, forbidden = case
    order = list(order_heuristic(problem, seed=seed, time_budget_s=0.03).order)
    assert sorted(order) == list(range(problem.n))
    assert problem.objective(order) < FORBIDDEN
    first, last = problem.pinned()
    assert first is None or order[0] == first
    assert last is None or order[-1] == last
    for a, b in locked:
        assert order[order.index(a) + 1] == b
    assert not any(forbidden[a, b] for a, b in itertools.pairwise(order) if (a, b) not in locked)


def test_heuristic_finds_the_optimum_of_small_sets() -> None:
    rng = np.random.default_rng(5)
    for _ in range(10):
        problem = OrderProblem.build(rng.random((12, 12)), arc_term(rng, 12))
        found = order_heuristic(problem, time_budget_s=0.05)
        assert found.objective == pytest.approx(held_karp(problem).objective, abs=1e-9)


def test_same_seed_gives_the_same_order_and_the_search_reports_its_work() -> None:
    rng = np.random.default_rng(7)
    problem = OrderProblem.build(rng.random((80, 80)), arc_term(rng, 80))
    a = order_heuristic(problem, seed=3, time_budget_s=0.05)
    b = order_heuristic(problem, seed=3, time_budget_s=0.05)
    assert a.order == b.order
    assert a.objective == pytest.approx(problem.objective(a.order))
    assert a.stats is not None and a.stats.stopped_by == "budget" and a.stats.kicks > 0


def test_a_passed_deadline_stops_the_search_and_says_so() -> None:
    rng = np.random.default_rng(8)
    problem = OrderProblem.build(rng.random((300, 300)))
    found = order_heuristic(problem, time_budget_s=60.0, deadline=0.0)
    assert found.stats is not None and found.stats.stopped_by == "clock"
    assert found.objective <= greedy_order(problem).objective + 1e-9


def test_solve_order_is_exact_up_to_the_limit_and_heuristic_above() -> None:
    rng = np.random.default_rng(1)
    assert solve_order(OrderProblem.build(rng.random((12, 12)))).method == "exact"
    assert solve_order(OrderProblem.build(rng.random((30, 30))), time_budget_s=0.05).method == (
        "heuristic"
    )


def test_a_locked_pair_is_kept_together_and_never_split_by_the_ends() -> None:
    rng = np.random.default_rng(2)
    pairs = [(3, 10), (10, 8)]
    for n in (12, 25):
        problem = OrderProblem.build(rng.random((n, n)), locked_pairs=pairs)
        solution = solve_order(problem, time_budget_s=0.05)
        order = list(solution.order)
        assert order[order.index(3) + 1 : order.index(3) + 3] == [10, 8]
        assert solution.objective < FORBIDDEN


def test_large_pools_take_a_float32_matrix_and_candidate_lists_of_the_cheapest() -> None:
    rng = np.random.default_rng(3)
    cost = rng.random((2500, 2500))
    problem = OrderProblem.build(cost)
    assert problem.matrix.dtype == np.float32
    succ, pred = heuristic_module.candidate_lists(problem.matrix, 5)
    assert succ.shape == pred.shape == (2501, 5)
    for row in (0, 17, 2499):
        expected = np.argsort(np.where(np.arange(2501) == row, np.inf, problem.matrix[row]))[:5]
        assert set(succ[row]) == set(expected)
        column = problem.matrix[:, row].astype(float)
        column[row] = np.inf
        assert set(pred[row]) == set(np.argsort(column)[:5])
