"""Sequencing benchmark: our ordering and selection against the optimum, OR-Tools and greedy.

Synthetic pools with a realistic spread: keys mostly minor and bunched round the popular ones, BPM in
three clusters (house ≈ 124, techno ≈ 132, drum and bass ≈ 174), energy 1–10 tied to the genre, a
third of the keys detected from audio, artists shared by several tracks. For each N the whole pool is
ordered with ``--arc none`` semantics (the pure ordering problem over the transition costs that
``aidj set costs`` prints) and compared with:

- the exact optimum (Held–Karp) for N ≤ 12;
- a strong reference: OR-Tools routing with guided local search for ``--reference-s`` seconds
  (an open path through a free dummy depot; costs scaled to integers, re-priced in floats);
- greedy nearest neighbour (best of up to 64 starts; a single start is worse).

Then a 90-minute set is selected from a 1,000-track pool with the journey arc. Wall time and peak
Python-heap memory (tracemalloc, which numpy reports to) are measured for our solver.

Run: ``.venv/bin/python bench/sequencing.py`` (OR-Tools from ``bench/requirements.txt``; without
it the reference column is empty). ``--quick`` skips N ≥ 500 and uses a 5 s reference.

Last full run (2026-11-27, commit 6f807d8, x86_64, 2 cores shared with other work at load average
5–7, Python 3.11.7, numpy 2.4.6, OR-Tools 9.15.6755, seed 1, reference 30 s; command
``var/bench-venv/bin/python bench/sequencing.py``). Ratios are our cost ÷ theirs (below 1 = better):

| N | ours | wall s | CPU s | peak MiB | ÷ exact | ÷ OR-Tools | ÷ greedy |
|---|---|---|---|---|---|---|---|
| 10 | 15.394 | 0.00 | 0.00 | 0.15 | 1.0000 | – | 1.0000 |
| 12 | 19.426 | 0.00 | 0.00 | 0.68 | 1.0000 | – | 0.9084 |
| 50 | 30.181 | 0.92 | 0.89 | 0.37 | – | 1.0000 | 0.8524 |
| 100 | 42.050 | 1.42 | 0.97 | 0.49 | – | 0.9562 | 0.8946 |
| 200 | 62.794 | 3.84 | 1.36 | 0.96 | – | 0.9877 | 0.9005 |
| 500 | 110.459 | 4.24 | 2.63 | 4.20 | – | 0.9732 | 0.8726 |
| 1000 | 195.057 | 7.56 | 3.61 | 15.70 | – | 0.9344 | 0.9083 |

With the journey arc: N = 200 at 0.738 × greedy (1.43 s CPU), N = 1,000 at 0.584 × greedy (4.01 s
CPU). Selection of 90 min from 1,000 tracks (re-run at commit 9b6e406, with selection kicks and
exact re-ordering up to 15 tracks): 16 tracks, 91.5 min, 1.96 s wall, 1.94 s CPU, peak 105 MiB,
100 % harmonic, 0 % clash, mean tempo change 0.50 %, arc RMSE 0.30. Wall time above CPU time is the shared machine;
an earlier run at load 5 gave N = 200 in 1.70 s wall.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.dj.arcs import PRESETS
from service.dj.costs import cost_matrix
from service.dj.keys import Key
from service.dj.sequencing import greedy_order, held_karp, path_cost, solve_order
from service.dj.sequencing.plan import SetRequest, plan_set
from service.dj.tracks import Track

# Camelot numbers weighted as in EDM catalogues: the 4A–10A minor keys dominate.
_MINOR_WEIGHTS = {1: 3, 2: 3, 3: 3, 4: 6, 5: 8, 6: 9, 7: 9, 8: 10, 9: 8, 10: 8, 11: 5, 12: 4}
_GENRES = (
    ("house", 124.0, 2.0, 0.45, 5.0),
    ("techno", 132.0, 2.5, 0.40, 7.0),
    ("drum and bass", 174.0, 1.5, 0.15, 7.5),
)


def synthetic_pool(n: int, seed: int) -> list[Track]:
    """``n`` tracks with realistic keys, BPM clusters, energies, durations and shared artists."""
    rng = np.random.default_rng(seed)
    numbers = np.array(list(_MINOR_WEIGHTS))
    weights = np.array(list(_MINOR_WEIGHTS.values()), dtype=float)
    weights /= weights.sum()
    shares = np.array([g[3] for g in _GENRES])
    tracks = []
    for i in range(n):
        genre, bpm_mean, bpm_sd, _, energy_mean = _GENRES[rng.choice(len(_GENRES), p=shares)]
        number = int(rng.choice(numbers, p=weights))
        minor = rng.random() < 0.75
        key = Key.from_camelot(number, "A" if minor else "B")
        energy = int(np.clip(round(rng.normal(energy_mean, 1.6)), 1, 10))
        detected = rng.random() < 1 / 3
        tracks.append(
            Track(
                id=f"t{i:04d}",
                path=f"/music/{genre}/track {i}.mp3",
                title=f"Track {i}",
                artist=f"Artist {int(rng.integers(max(2, n // 4)))}",
                genre=genre,
                bpm=round(float(rng.normal(bpm_mean, bpm_sd)), 1),
                key=key,
                energy=energy,
                duration_s=float(rng.integers(300, 480)),
                sources={"key": "analysis" if detected else "tag:TKEY"},
            )
        )
    return tracks


def ortools_path(cost: np.ndarray, seconds: float) -> list[int] | None:
    """OR-Tools routing + guided local search over an open path (None without OR-Tools)."""
    try:
        from ortools.constraint_solver import pywrapcp, routing_enums_pb2
    except ImportError:
        return None
    n = cost.shape[0]
    scale = 10_000
    matrix = np.zeros((n + 1, n + 1), dtype=np.int64)  # node n: free depot = open path
    matrix[:n, :n] = np.round(cost * scale).astype(np.int64)
    manager = pywrapcp.RoutingIndexManager(n + 1, 1, n)
    routing = pywrapcp.RoutingModel(manager)
    rows = matrix.tolist()

    def callback(i: int, j: int) -> int:
        return rows[manager.IndexToNode(i)][manager.IndexToNode(j)]

    transit = routing.RegisterTransitCallback(callback)
    routing.SetArcCostEvaluatorOfAllVehicles(transit)
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return None
    order, index = [], routing.Start(0)
    index = solution.Value(routing.NextVar(index))
    while not routing.IsEnd(index):
        order.append(manager.IndexToNode(index))
        index = solution.Value(routing.NextVar(index))
    return order


def measured(fn, *args, **kwargs):
    """(result, wall seconds, CPU seconds, peak MiB of the Python heap incl. numpy buffers).

    CPU seconds are what the solver costs on an idle machine; wall seconds grow when other work
    shares the two cores.

    Timed without tracemalloc (it slows every allocation), then run again under it for the peak:
    the solver is deterministic, so both runs do the same work.
    """
    start, cpu_start = time.perf_counter(), time.process_time()
    result = fn(*args, **kwargs)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    tracemalloc.start()
    fn(*args, **kwargs)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return result, seconds, cpu, peak


def budget_for(n: int) -> float:
    """Our time budget per size: 2 s up to 200 tracks (the target), 6 s at 1,000."""
    return 2.0 if n <= 200 else 4.0 if n <= 500 else 6.0


def main() -> None:
    """Run the benchmark and print a table; JSON goes to bench/results/."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10,12,50,100,200,500,1000")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reference-s", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.quick:
        sizes = [s for s in sizes if s < 500]
        args.reference_s = 5.0
    rows = []
    print(
        f"# machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}, numpy {np.__version__}, seed {args.seed}"
    )
    header = (
        "N",
        "ours",
        "wall s",
        "CPU s",
        "peak MiB",
        "÷ exact",
        "÷ OR-Tools",
        "÷ greedy",
        "method",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for n in sizes:
        tracks = synthetic_pool(n, args.seed + n)
        cost = cost_matrix(tracks)
        sol, seconds, cpu, peak = measured(
            solve_order, cost, seed=args.seed, time_budget_s=budget_for(n)
        )
        ours = sol.objective
        greedy = greedy_order(cost).objective
        exact = held_karp(cost).objective if n <= 12 else None
        ref_order = ortools_path(cost, args.reference_s) if n > 12 else None
        reference = path_cost(cost, ref_order) if ref_order else None
        row = {
            "n": n,
            "ours": ours,
            "seconds": seconds,
            "cpu_seconds": cpu,
            "peak_mib": peak,
            "method": sol.method,
            "exact": exact,
            "reference": reference,
            "greedy": greedy,
            "budget_s": budget_for(n),
            "reference_s": args.reference_s,
        }
        rows.append(row)

        def ratio(x: float | None, ours: float = ours) -> str:
            return f"{ours / x:.4f}" if x else "–"

        print(
            f"| {n} | {ours:.3f} | {seconds:.2f} | {cpu:.2f} | {peak:.2f} | {ratio(exact)} | "
            f"{ratio(reference)} | {ratio(greedy)} | {sol.method} |",
            flush=True,
        )

    print("\n| N, journey arc | objective | wall s | CPU s | ÷ greedy |")
    print("|---|---|---|---|---|")
    for n in [s for s in sizes if s in (200, 1000)]:
        tracks = synthetic_pool(n, args.seed + n)
        cost = cost_matrix(tracks)
        arc = arc_cost_matrix([t.energy for t in tracks], PRESETS["journey"], n)
        sol, seconds, cpu, _ = measured(
            solve_order, cost, arc, seed=args.seed, time_budget_s=budget_for(n)
        )
        greedy = greedy_order(cost, arc).objective
        print(
            f"| {n} | {sol.objective:.3f} | {seconds:.2f} | {cpu:.2f} | "
            f"{sol.objective / greedy:.4f} |",
            flush=True,
        )
        rows.append(
            {
                "arc_n": n,
                "objective": sol.objective,
                "seconds": seconds,
                "cpu_seconds": cpu,
                "greedy": greedy,
            }
        )

    pool = synthetic_pool(1000, args.seed + 7)
    request = SetRequest(duration_s=90 * 60, arc="journey", seed=args.seed, time_budget_s=2.0)
    planned, seconds, cpu, peak = measured(plan_set, pool, request)
    card = planned.scorecard
    print(
        f"\nselection: 90 min from 1,000 tracks (journey arc): {len(planned.tracks)} tracks, "
        f"{(card.duration_s or 0) / 60:.1f} min, {seconds:.2f} s wall, {cpu:.2f} s CPU, "
        f"peak {peak:.1f} MiB, "
        f"harmonic {card.harmonic_ok_pct:.0f} %, clash {card.clash_pct:.0f} %, "
        f"mean tempo change {card.mean_tempo_change_pct:.2f} %, arc RMSE {card.arc_rmse:.2f}"
    )
    rows.append(
        {
            "selection": {
                "tracks": len(planned.tracks),
                "seconds": seconds,
                "cpu_seconds": cpu,
                "peak_mib": peak,
                "duration_s": card.duration_s,
                "objective": planned.objective,
            }
        }
    )
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "sequencing.json").write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
