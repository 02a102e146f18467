"""Load: N DJs at once log in, upload a playlist with its audio and build a set, on one of
everything or on two of everything (two Directus instances with files in S3 and two web processes
behind nginx, two RQ workers, one PostgreSQL and one Redis).

A fresh isolated stack is started as the test suite starts it: ``--instances 1`` is the test stack
(Directus on PostgreSQL, local files) with one gunicorn and one ``rq worker``; ``--instances 2`` is
the scale tests' stack (``tests/support/scaled.py``). Each DJ is a thread with its own HTTP session
doing what a browser does: ``GET /login`` for the form's CSRF token, ``POST /login``, ``POST
/playlists`` (the demo playlist and its tagged WAVs, multipart), poll ``/playlists/<id>/status``
until the import is done, ``POST /sets`` over the whole playlist, poll ``/sets/<id>/status`` until
the set is done.

Figures: DJs per minute completed (throughput), p50/p95/max of upload → imported and set posted →
set ready, and the checks that matter under concurrency:

- **lost jobs**: sets or playlists that never reached ``done``;
- **duplicated jobs**: a job id started more than once across the workers' logs;
- **double charges**: a set with any ledger entry but exactly one ``-1``.

Run: ``.venv/bin/python bench/load.py --instances 1`` then ``--instances 2`` (``--djs N``,
``--concurrency C``, ``--budget SECONDS``). Results go to ``bench/results/load-<instances>.json``
with the machine and its load average beside them.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from service.integrations.directus import DirectusClient  # noqa: E402
from service.stack.demo import write_demo_library  # noqa: E402
from tests.pipelines.helpers import charges, make_dj  # noqa: E402
from tests.support.scaled import build_scaled_stack  # noqa: E402
from tests.support.stack import ServiceProcesses, build_stack  # noqa: E402

CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
JOB_STARTED = re.compile(r"default: (?!Job OK)[^()\n]*\(([^)]+)\)$", re.MULTILINE)
POLL_S = 0.25


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30)
    page.raise_for_status()
    match = CSRF_INPUT.search(page.text)
    if match is None:
        raise RuntimeError(f"no CSRF token on {url}")
    return match.group(1)


def _wait(session: requests.Session, url: str, timeout_s: float) -> dict:
    deadline = time.monotonic() + timeout_s
    while True:
        answer = session.get(url, timeout=30).json()
        if answer["status"] in ("done", "failed"):
            return answer
        if time.monotonic() > deadline:
            return {**answer, "status": "timed out"}
        time.sleep(POLL_S)


class _Run:
    """One DJ's first session: log in, upload, build a set."""

    def __init__(self, base: str, email: str, password: str, library: Path, budget: float) -> None:
        self.base, self.email, self.password = base, email, password
        self.library, self.budget = library, budget
        self.figures: dict[str, float] = {}
        self.playlist_id: str | None = None
        self.set_id: str | None = None
        self.problem: str | None = None

    def __call__(self) -> _Run:
        try:
            self._run()
        except Exception as exc:  # one DJ's failure is a figure, not the end of the run
            self.problem = f"{type(exc).__name__}: {exc}"
        return self

    def _run(self) -> None:
        session = requests.Session()
        token = _csrf(session, f"{self.base}/login")
        login = session.post(
            f"{self.base}/login",
            data={"email": self.email, "password": self.password, "csrf_token": token},
            allow_redirects=False,
            timeout=30,
        )
        if login.status_code != 302:
            raise RuntimeError(f"log-in answered {login.status_code}")

        token = _csrf(session, f"{self.base}/playlists/new")
        audio = sorted(self.library.glob("*.wav"))
        files = [("playlist", ("demo.m3u8", (self.library / "demo.m3u8").read_bytes()))]
        files += [("audio", (path.name, path.read_bytes(), "audio/wav")) for path in audio]
        started = time.monotonic()
        upload = session.post(
            f"{self.base}/playlists",
            data={"csrf_token": token, "name": "Load night"},
            files=files,
            allow_redirects=False,
            timeout=120,
        )
        if upload.status_code != 303:
            raise RuntimeError(f"upload answered {upload.status_code}")
        self.playlist_id = upload.headers["Location"].rsplit("/", 1)[1]
        self.figures["upload_answer_s"] = time.monotonic() - started
        imported = _wait(session, f"{self.base}/playlists/{self.playlist_id}/status", 300)
        self.figures["upload_to_imported_s"] = time.monotonic() - started
        if imported["status"] != "done":
            raise RuntimeError(f"import ended {imported['status']}: {imported.get('error')}")

        token = _csrf(session, f"{self.base}/sets/new?playlist={self.playlist_id}")
        started = time.monotonic()
        created = session.post(
            f"{self.base}/sets",
            data={"csrf_token": token, "playlist": self.playlist_id, "arc": "journey"},
            allow_redirects=False,
            timeout=30,
        )
        if created.status_code != 303:
            raise RuntimeError(f"new set answered {created.status_code}")
        self.set_id = created.headers["Location"].rsplit("/", 1)[1]
        ready = _wait(session, f"{self.base}/sets/{self.set_id}/status", 300)
        self.figures["set_to_ready_s"] = time.monotonic() - started
        if ready["status"] != "done":
            raise RuntimeError(f"set ended {ready['status']}: {ready.get('error')}")


@contextlib.contextmanager
def _one_of_each(service_env: dict[str, str]) -> Iterator[tuple[DirectusClient, str, Path]]:
    """One Directus (local files), one web process, one worker."""
    stack = build_stack()
    processes = ServiceProcesses(
        stack, stack.settings.var_dir / "service-logs", extra_env=service_env
    )
    processes.log_dir.mkdir(parents=True, exist_ok=True)
    try:
        processes.start_web()
        processes.start_worker()
        yield stack.service, processes.url, processes.log_dir
    finally:
        processes.close()
        stack.close()


@contextlib.contextmanager
def _two_of_each(service_env: dict[str, str]) -> Iterator[tuple[DirectusClient, str, Path]]:
    """Two Directus instances (files in S3) and two web processes behind nginx, two workers."""
    stack = build_scaled_stack(service_env)
    try:
        yield stack.service, stack.settings.site_url, stack.log_dir
    finally:
        stack.close()


def main() -> None:
    """Start the stack, run the DJs, write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--djs", type=int, default=20, help="DJs in all")
    parser.add_argument("--concurrency", type=int, default=8, help="DJs at once")
    parser.add_argument("--budget", type=float, default=2.0, help="engine search budget, seconds")
    parser.add_argument("--instances", type=int, choices=(1, 2), default=2, help="of everything")
    args = parser.parse_args()

    library = Path(tempfile.mkdtemp(prefix="aidj-load-")) / "library"
    write_demo_library(library)
    # Every DJ logs in from 127.0.0.1: the per-address limits are for the internet, not this bench.
    limits = {f"RATE_LIMIT_{name}": "100000" for name in ("LOGIN", "SIGNUP", "RESET", "RESEND")}
    stack = _two_of_each(limits) if args.instances == 2 else _one_of_each(limits)
    with stack as (directus, site_url, log_dir):
        runs = []
        for n in range(args.djs):
            password = f"load-dj-{n}-password"
            owner = make_dj(directus, grant=3)
            user = directus.update_item("directus_users", owner, {"password": password})
            runs.append(_Run(site_url, user["email"], password, library, args.budget))
        started = time.monotonic()
        with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
            finished = list(pool.map(lambda run: run(), runs))
        elapsed = time.monotonic() - started
        time.sleep(1.0)  # the last job's end lines reach the workers' logs

        job_starts: collections.Counter[str] = collections.Counter()
        for log in log_dir.glob("worker-*.log"):
            job_starts.update(JOB_STARTED.findall(log.read_text(errors="replace")))
        duplicated = sorted(job for job, count in job_starts.items() if count > 1)
        double_charged = [
            run.set_id
            for run in finished
            if run.set_id and [e["delta"] for e in charges(directus, run.set_id)] != [-1]
        ]
        lost = [run.problem for run in finished if run.problem]

    figures = {
        name: [run.figures[name] for run in finished if name in run.figures]
        for name in ("upload_answer_s", "upload_to_imported_s", "set_to_ready_s")
    }
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "stack": (
            "2 × Directus 12.4.0 (files in S3) and 2 × gunicorn behind nginx, 2 × rq worker"
            if args.instances == 2
            else "1 × Directus 12.4.0 (local files), 1 × gunicorn, 1 × rq worker"
        )
        + "; PostgreSQL, Redis, local AI notes",
        "instances": args.instances,
        "djs": args.djs,
        "concurrency": args.concurrency,
        "tracks_per_upload": len(list(library.glob("*.wav"))),
        "engine_budget_s": args.budget,
        "elapsed_s": round(elapsed, 1),
        "djs_per_minute": round(60.0 * (args.djs - len(lost)) / elapsed, 2),
        "seconds": {
            name: {
                "p50": round(statistics.median(values), 3),
                "p95": round(_pct(values, 0.95), 3),
                "max": round(max(values), 3),
            }
            for name, values in figures.items()
            if values
        },
        "jobs_started": sum(job_starts.values()),
        "lost": lost,
        "duplicated_jobs": duplicated,
        "double_charged_sets": double_charged,
    }
    out = ROOT / "bench" / "results" / f"load-{args.instances}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
