"""Throughput of ``POST /hooks/directus`` under concurrent signed requests, against a bare Flask endpoint.

Both run in the same gunicorn configuration (``--workers 2``, sync, as ``make run`` starts the web
service; ``--threads N`` for gthread workers) on this machine, in the same run, alternating rounds. The hook does all its real work:
HMAC check, timestamp window, JSON validation, the event map, Redis ``SET NX`` dedupe and an RQ
enqueue (every request is a new event for a new item, so each one enqueues a job). The bare endpoint
reads the body and answers 202 with a small JSON. The client signs every request (outside the timed
server work: signing happens before sending in both cases, the bare endpoint ignores the headers).

Run: ``.venv/bin/python bench/hooks_throughput.py`` (``--requests N`` per round, ``--concurrency C``,
``--rounds R``, ``--redis-db D``, ``--threads T``). It also reports the answer time of one client
sending one request at a time (no queueing). Results go to ``bench/results/hooks_throughput.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import redis
import requests
from flask import Flask, jsonify, request

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.stack.settings import free_port  # noqa: E402
from service.web.hooks import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign  # noqa: E402

SECRET = "bench-hook-secret"


def bare_app() -> Flask:
    """The baseline: a Flask endpoint that reads the body and answers 202."""
    app = Flask("bare")

    @app.post("/hooks/directus")
    def accept() -> object:
        request.get_data()
        return jsonify(status="accepted"), 202

    return app


def _start(
    app_spec: str, port: int, env: dict[str, str], log: Path, threads: int
) -> subprocess.Popen[bytes]:
    gunicorn = str(Path(sys.executable).parent / "gunicorn")
    process = subprocess.Popen(
        [
            gunicorn,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "2",
            "--threads",
            str(threads),
            "--log-level",
            "error",
            app_spec,
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.post(f"http://127.0.0.1:{port}/hooks/directus", data=b"{}", timeout=1)
            return process
        except requests.RequestException:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{app_spec} did not start; see {log}")


def _event() -> bytes:
    return json.dumps(
        {
            "id": str(uuid.uuid4()),
            "event": "items.create",
            "collection": "sets",
            "keys": [str(uuid.uuid4())],
            "user": None,
            "ts": time.time(),
        }
    ).encode()


def _round(url: str, count: int, concurrency: int) -> tuple[float, list[float], int]:
    """Send ``count`` signed events with ``concurrency`` clients; requests/s, latencies, non-202s."""
    local = threading.local()
    bodies = [_event() for _ in range(count)]

    def send(body: bytes) -> tuple[float, int]:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        stamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            TIMESTAMP_HEADER: stamp,
            SIGNATURE_HEADER: sign(SECRET, stamp, body),
        }
        started = time.perf_counter()
        response = session.post(url, data=body, headers=headers, timeout=10)
        return time.perf_counter() - started, response.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(send, bodies))
    elapsed = time.perf_counter() - started
    return count / elapsed, [r[0] for r in results], sum(1 for r in results if r[1] != 202)


def main() -> None:
    """Run the alternating rounds and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--redis-db", type=int, default=9)
    parser.add_argument(
        "--threads", type=int, default=1, help="gunicorn threads per worker (1: sync, as make run)"
    )
    args = parser.parse_args()

    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    log = ROOT / "var" / "bench-hooks.log"
    log.parent.mkdir(exist_ok=True)
    env = {
        "REDIS_URL": redis_url,
        "HOOK_SECRET": SECRET,
        "FLASK_SECRET_KEY": "bench",
        "DIRECTUS_URL": "http://127.0.0.1:9",
    }
    hook_port, bare_port = free_port(), free_port()
    servers = [
        _start("service.web.app:create_app()", hook_port, env, log, args.threads),
        _start("bench.hooks_throughput:bare_app()", bare_port, env, log, args.threads),
    ]
    targets = {
        "hook": f"http://127.0.0.1:{hook_port}/hooks/directus",
        "bare": f"http://127.0.0.1:{bare_port}/hooks/directus",
    }
    rates: dict[str, list[float]] = {"hook": [], "bare": []}
    latencies: dict[str, list[float]] = {"hook": [], "bare": []}
    errors = {"hook": 0, "bare": 0}
    try:
        for url in targets.values():  # warm-up: imports, connections, Redis scripts
            _round(url, 200, args.concurrency)
        connection.flushdb()
        for _ in range(args.rounds):
            for name, url in targets.items():
                rate, lat, bad = _round(url, args.requests, args.concurrency)
                rates[name].append(rate)
                latencies[name] += lat
                errors[name] += bad
            connection.flushdb()  # keep Redis the same size for every round
        # One client, one request at a time: the answer time without queueing behind others.
        single: dict[str, list[float]] = {}
        for name, url in targets.items():
            single[name] = _round(url, 300, 1)[1]
        connection.flushdb()
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
        connection.flushdb()

    def pct(values: list[float], q: float) -> float:
        ordered = sorted(values)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    ratios = [h / b for h, b in zip(rates["hook"], rates["bare"], strict=True)]
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        # The machine is shared: its load during the run says how far to trust the figures.
        "load_average_1m_at_end": round(os.getloadavg()[0], 2),
        "server": f"gunicorn --workers 2 --threads {args.threads}, same machine as the client",
        "requests_per_round": args.requests,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "requests_per_s": {k: [round(v, 1) for v in vs] for k, vs in rates.items()},
        "median_requests_per_s": {k: round(statistics.median(v), 1) for k, v in rates.items()},
        "ratio_hook_to_bare": round(statistics.median(ratios), 3),
        "latency_ms": {
            k: {"p50": round(pct(v, 0.5), 2), "p95": round(pct(v, 0.95), 2)}
            for k, v in latencies.items()
        },
        "non_202": errors,
        "single_client_latency_ms": {
            k: {"p50": round(pct(v, 0.5), 2), "p95": round(pct(v, 0.95), 2)}
            for k, v in single.items()
        },
    }
    suffix = "" if args.threads == 1 else f"_threads{args.threads}"
    out = ROOT / "bench" / "results" / f"hooks_throughput{suffix}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
