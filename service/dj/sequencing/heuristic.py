"""Heuristic ordering for sets too large to solve exactly: an iterated local search for the
asymmetric path problem, compiled (:mod:`.kernels`).

1. **Candidate lists**: for every track the :data:`CANDIDATES` cheapest successors and predecessors
   (the dummy that opens and closes the set included), computed in blocks of rows so a 10,000-track
   pool needs no second matrix. Moves only create transitions to a candidate.
2. **Construction**: nearest neighbour (the cheapest transition plus the arc cost at the time the
   track would start) from several starting tracks spread over the pool, as many as a twentieth of
   the budget allows; the best path seeds the search, so the result is never worse than greedy.
3. **Local search** to a local optimum with Or-opt (runs of one to three tracks, as is or reversed),
   or-3opt segment swaps searched LK-style, and 2-opt with priced reversal; tracks are revisited
   only around changed transitions ("don't-look bits").
4. **Kicks**: a double bridge local to a window (three neighbouring stretches B C D become D C B),
   then local search again; the result is kept when it is better, or worse by less than
   :data:`ACCEPT_WORSE` of a mean transition, and the search returns to the best order after
   :data:`RESTART_AFTER` kicks without a new best.

The budget: ``time_budget_s`` is turned into *work units* (one unit is one move evaluated) at a fixed
rate, :data:`UNITS_PER_S`, so the same seed and budget give the same order on any machine that does
the work in time. The wall clock (``deadline``) stops the kicks earlier on a machine that does not,
and says so in the solution's stats (the first descent to a local optimum always completes); the
command line sets the deadline so that the whole command answers within its budget.
"""

from __future__ import annotations

import logging
import time

import numpy as np

from service.dj.sequencing import kernels
from service.dj.sequencing.objective import OrderProblem, SearchStats, Solution

__all__ = [
    "candidate_lists",
    "greedy_order",
    "local_search",
    "order_heuristic",
    "search_units",
]

log = logging.getLogger(__name__)

#: Cheapest successors and predecessors kept per track.
CANDIDATES = 8
#: Work units per second of budget: on the 2-core reference machine a unit (one move priced) costs
#: 15–25 ns of one core, so the work of a budget takes under half of it and the rest is left for
#: start-up (numba's first load in a process), matrix and output; the deadline still stops a slower
#: or busier machine in time.
UNITS_PER_S = 20e6
#: Least work any search does, whatever its budget (about 1 ms).
MIN_UNITS = 20_000.0
#: Longest stretch a kick moves, in tracks.
KICK_SPAN = 30
#: A kicked order worse than the current one by up to this share of a mean transition's cost is
#: still taken as the new base (0.3–0.5 measured best at 200 tracks: 1.006 × LKH-3 against 1.02
#: when only improvements are taken) ...
ACCEPT_WORSE = 0.4
#: ... until this many kicks pass without a new best, when the search returns to the best order.
RESTART_AFTER = 1000
#: The search checks the wall clock after this many units (about 25 ms).
CHUNK_UNITS = 500_000.0
#: Nanoseconds one nearest-neighbour start costs per matrix entry (for sizing the construction).
_GREEDY_NS_PER_ENTRY = 4.0


def search_units(time_budget_s: float) -> float:
    """Work units a search of ``time_budget_s`` seconds may spend (the budget is spent: more kicks
    keep finding better orders, slowly, long after the first second)."""
    return max(MIN_UNITS, time_budget_s * UNITS_PER_S)


def candidate_lists(matrix: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` (default :data:`CANDIDATES`) cheapest successors and predecessors of every row."""
    size = matrix.shape[0]
    k = max(1, min(CANDIDATES if k is None else k, size - 1))
    succ = np.empty((size, k), dtype=np.int64)
    pred = np.empty((size, k), dtype=np.int64)
    block = max(1, 4_000_000 // size)  # rows per block: about 16 MB of float32 at a time
    for lo in range(0, size, block):
        hi = min(size, lo + block)
        for out, rows in ((succ, matrix[lo:hi]), (pred, matrix[:, lo:hi].T)):
            values = np.array(rows, dtype=np.float64)
            values[np.arange(hi - lo), np.arange(lo, hi)] = np.inf  # never yourself
            part = np.argpartition(values, k - 1, axis=1)[:, :k]
            picked = np.take_along_axis(values, part, axis=1)
            out[lo:hi] = np.take_along_axis(part, np.argsort(picked, axis=1, kind="stable"), axis=1)
    return succ, pred


class _Arrays:
    """The kernel's view of a problem: float matrix, arc arrays (dummy last)."""

    def __init__(self, problem: OrderProblem) -> None:
        n = problem.n
        self.matrix = problem.matrix
        arc = problem.arc
        self.energy = np.full(n + 1, np.nan)
        self.floor = np.zeros(n + 1)
        if arc is not None:
            self.energy[:n] = arc.energy
            self.floor[:n] = arc.floor_s
            self.xs, self.ys, self.weight = arc.xs, arc.ys, arc.weight
        else:
            self.floor[:n] = 1.0
            self.xs, self.ys, self.weight = np.array([0.0, 1.0]), np.zeros(2), 0.0
        self.total = float(self.floor.sum())

    def greedy(self, first: int, last: int) -> np.ndarray:
        """Nearest-neighbour tour from ``first`` (−1: cheapest opening), keeping ``last`` for the end."""
        return kernels.greedy_path(
            self.matrix, first, last, self.energy, self.floor, self.total,
            self.xs, self.ys, self.weight,
        )  # fmt: skip


def _greedy_starts(problem: OrderProblem, time_budget_s: float) -> list[int]:
    """Starting tracks for nearest neighbour: spread over the pool, as many as 5 % of the budget buys."""
    n = problem.n
    first, last = problem.pinned()
    if first is not None:
        return [first]
    affordable = int(0.05 * time_budget_s / (_GREEDY_NS_PER_ENTRY * 1e-9 * n * n))
    count = max(1, min(64, affordable))
    pool = [j for j in range(n) if j != last]
    if len(pool) > count:
        pool = [pool[k] for k in np.linspace(0, len(pool) - 1, count).round().astype(int)]
    return pool


def greedy_order(problem: OrderProblem, *, time_budget_s: float = 2.0) -> Solution:
    """Best nearest-neighbour path over several starting tracks."""
    n = problem.n
    if n <= 1:
        return Solution(tuple(range(n)), problem.objective(range(n)), "greedy")
    arrays = _Arrays(problem)
    _, last = problem.pinned()
    best: Solution | None = None
    for start in _greedy_starts(problem, time_budget_s):
        order = arrays.greedy(start, -1 if last is None else last)[1:]
        value = problem.objective(order)
        if best is None or value < best.objective:
            best = Solution(tuple(int(x) for x in order), value, "greedy")
    assert best is not None
    return best


def _run(
    problem: OrderProblem,
    order: list[int] | tuple[int, ...],
    *,
    seed: int,
    units: float,
    max_kicks: int,
    deadline: float | None,
    accept_worse: float = 0.0,
) -> tuple[list[int], SearchStats]:
    """The compiled search from ``order``, cut into chunks so the wall clock can stop it."""
    started = time.monotonic()
    n = problem.n
    arrays = _Arrays(problem)
    succ, pred = candidate_lists(problem.matrix)
    tour = np.array([n, *order], dtype=np.int64)
    best = tour.copy()
    saved = tour.copy()
    queue = np.empty(n + 1, dtype=np.int64)
    in_queue = np.zeros(n + 1, dtype=bool)
    state = np.zeros(kernels.STATE_SIZE)
    rng = np.array([(seed * 0x9E3779B97F4A7C15 + 0x2545F4914F6CDD1D) % 2**64 or 1], dtype=np.uint64)
    stopped_by = "budget"
    target = 0.0
    while True:
        target = min(units, target + CHUNK_UNITS)
        kernels.search(
            tour, arrays.matrix, succ, pred, arrays.energy, arrays.floor, arrays.total,
            arrays.xs, arrays.ys, arrays.weight, best, saved, queue, in_queue, state, rng,
            float(target), int(max_kicks), int(KICK_SPAN), float(accept_worse), int(RESTART_AFTER),
        )  # fmt: skip
        descended = state[kernels.PHASE] == 1
        if state[kernels.UNITS] >= units:
            break
        if descended and (state[kernels.KICKS] >= max_kicks or n < 4):
            break
        # the first descent always completes (a local optimum); the clock stops only the kicks
        if descended and deadline is not None and time.monotonic() >= deadline:
            stopped_by = "clock"
            log.info("ordering %d tracks stopped by the clock", n)
            break
    stats = SearchStats(
        int(state[kernels.KICKS]),
        int(state[kernels.UNITS]),
        round(time.monotonic() - started, 3),
        stopped_by,
    )
    return [int(x) for x in best[1:]], stats


def local_search(problem: OrderProblem, order: list[int] | tuple[int, ...]) -> list[int]:
    """Improving moves from ``order`` until none is left (a local optimum, no kicks)."""
    if problem.n <= 3:
        return list(order)
    result, _ = _run(problem, order, seed=0, units=float("inf"), max_kicks=0, deadline=None)
    return result


def order_heuristic(
    problem: OrderProblem,
    *,
    seed: int = 0,
    time_budget_s: float = 2.0,
    deadline: float | None = None,
    start: list[int] | None = None,
) -> Solution:
    """Iterated local search from the best greedy path (or ``start`` when better); deterministic
    for a seed and budget unless the ``deadline`` (a ``time.monotonic()`` value) comes first."""
    n = problem.n
    greedy = greedy_order(problem, time_budget_s=time_budget_s)
    if n <= 3:
        return greedy
    base = greedy
    if start is not None:
        value = problem.objective(start)
        if value < greedy.objective:
            base = Solution(tuple(start), value, "start")
    order, stats = _run(
        problem,
        base.order,
        seed=seed,
        units=search_units(time_budget_s),
        max_kicks=2**62,
        deadline=deadline,
        accept_worse=ACCEPT_WORSE * abs(base.objective) / max(1, n),
    )
    value = problem.objective(order)
    if value > base.objective:  # only float32 rounding can do this; keep the better order
        order, value = list(base.order), base.objective
    log.debug("ordered %d tracks: %s", n, stats)
    return Solution(tuple(order), value, "heuristic", stats=stats)
