"""Latency from a Directus item create to job start and to set ready, for a 100-track pool.

A fresh isolated stack (Directus 12 on PostgreSQL, Redis, the aidj-events hook extension, gunicorn
with 2 workers, one RQ worker) is started as the test suite starts it. A DJ with a 100-track imported
playlist creates sets one after another through Directus REST (``POST /items/sets``), as the site
does. For each set:

- **create → job start**: from just before the REST call to RQ's ``started_at`` of the job
  ``set-generate-<id>`` (the hook fired after commit, the service verified and enqueued, a worker
  picked it up);
- **create → set ready**: to RQ's ``ended_at`` (the job has written ``status=done``, the set_tracks,
  scorecard and notes; the last write is acknowledged before the job ends);
- **job run time**: ``ended_at - started_at`` (charge, load pool, plan, notes, write).

Set parameters: 90 minutes, arc "journey", the engine's default 2 s search budget, local AI notes.
Timestamps are all taken on this machine (client ``time.time()``; RQ records UTC wall clock).

Run: ``.venv/bin/python bench/pipeline_latency.py`` (``--sets N``, ``--seed S``, ``--budget SECONDS``).
Results go to ``bench/results/pipeline_latency.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rq.job import Job  # noqa: E402

from tests.pipelines.helpers import make_dj, make_library, wait_for, wait_for_status  # noqa: E402
from tests.support.stack import build_stack, start_service_processes  # noqa: E402


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    """Start a stack, create sets one by one, write p50/p95."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--budget", type=float, default=2.0, help="engine search budget, seconds")
    args = parser.parse_args()

    stack = build_stack()
    processes = None
    try:
        processes = start_service_processes(stack)
        directus = stack.service
        owner = make_dj(directus, grant=args.sets + args.warmup + 5)
        playlist = make_library(directus, owner, 100, seed=args.seed)
        figures: dict[str, list[float]] = {"to_start_s": [], "to_ready_s": [], "job_run_s": []}
        tracks_per_set: list[int] = []
        for n in range(args.warmup + args.sets):
            before = time.time()
            created = directus.create_item(
                "sets",
                {
                    "owner": owner,
                    "playlist": playlist,
                    "parameters": {
                        "duration_min": 90,
                        "arc": "journey",
                        "time_budget_s": args.budget,
                        "seed": n,
                    },
                },
            )
            done = wait_for_status(directus, "sets", created["id"], ("done", "failed"), 60)
            if done["status"] != "done":
                raise RuntimeError(f"set {created['id']} failed: {done['error']}")
            # The job writes status=done as its last step; RQ records its end a moment later.
            job = wait_for(
                lambda cid=created["id"]: (
                    j
                    if (j := Job.fetch(f"set-generate-{cid}", connection=stack.redis)).ended_at
                    else None
                ),
                10,
                "the job's end",
            )
            if n < args.warmup:
                continue
            started, ended = job.started_at.timestamp(), job.ended_at.timestamp()
            figures["to_start_s"].append(started - before)
            figures["to_ready_s"].append(ended - before)
            figures["job_run_s"].append(ended - started)
            tracks_per_set.append(done["scorecard"]["tracks"])
    finally:
        if processes is not None:
            processes.close()
        stack.close()

    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        # The machine is shared: its load during the run says how far to trust the figures.
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "stack": "Directus 12.4.0 on PostgreSQL, Redis, gunicorn --workers 2, 1 RQ worker, local AI",
        "pool_tracks": 100,
        "sets": args.sets,
        "seed": args.seed,
        "engine_budget_s": args.budget,
        "tracks_per_set_median": statistics.median(tracks_per_set),
        "seconds": {
            name: {
                "p50": round(_pct(values, 0.5), 3),
                "p95": round(_pct(values, 0.95), 3),
                "max": round(max(values), 3),
            }
            for name, values in figures.items()
        },
    }
    out = ROOT / "bench" / "results" / "pipeline_latency.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
