"""``make run``: the whole stack on one machine, stopped together on Ctrl-C or ``aidj stop``."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

import redis

from service.integrations.directus import DirectusClient
from service.jobs.sweep import sweep
from service.legal import publish_legal_documents
from service.stack import directus, services
from service.stack.demo import seed_demo
from service.stack.processes import console_script, spawn, stop_process, wait_for_http
from service.stack.settings import REPO_ROOT, StackSettings

log = logging.getLogger(__name__)

QUEUES = ("default",)


def _interrupt(signum: int, frame: object) -> None:
    # `aidj stop` and service managers send SIGTERM: stop the stack as Ctrl-C does.
    raise KeyboardInterrupt


def pid_file(settings: StackSettings) -> Path:
    """Where a running stack lists its process groups, for ``aidj stop``."""
    return settings.var_dir / "run.pids"


def stop_running(settings: StackSettings, timeout_s: float = 30) -> bool:
    """Ask a stack started by ``aidj run`` to stop, as Ctrl-C would; True if one was running."""
    path = pid_file(settings)
    if not path.exists():
        return False
    supervisor, *groups = (int(pid) for pid in path.read_text().split())
    try:
        os.kill(supervisor, signal.SIGTERM)
    except ProcessLookupError:
        pass
    else:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and path.exists():
            time.sleep(0.2)
    # The supervisor is gone (or hung): make sure nothing it started lives on.
    for group in reversed(groups):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGTERM)
    path.unlink(missing_ok=True)
    return True


def replay_outbox(service: DirectusClient, redis_url: str) -> None:
    """Enqueue every item waiting in ``queued`` with no job (their events were lost)."""
    report = sweep(
        service, redis.Redis.from_url(redis_url), stale_s=3600, dead_worker_s=120, lost_s=0
    )
    if report.enqueued:
        log.info("replayed %d queued item(s) from the outbox", len(report.enqueued))


def run_stack(
    settings: StackSettings, *, seed: bool = True, block: bool = True
) -> list[subprocess.Popen[bytes]]:
    """Start Redis (if none answers), Directus, the web service and a worker; seed the demo."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    processes: list[subprocess.Popen[bytes]] = []

    def shutdown(*_: object) -> None:
        for process in reversed(processes):
            stop_process(process)
        pid_file(settings).unlink(missing_ok=True)

    try:
        directus.install()
        redis_process = services.start_redis(settings.redis_url, settings.var_dir / "redis")
        if redis_process:
            processes.append(redis_process)
        if settings.database.client == "pg":
            services.create_database(settings.database)
        processes.append(directus.provision(settings))
        service = DirectusClient(settings.directus_url, settings.service_token)
        publish_legal_documents(service)  # the privacy policy and terms the sign-up page links to
        demo = seed_demo(service, settings.var_dir / "demo-library") if seed else None

        env = settings.service_env()
        web_log = settings.var_dir / "web.log"
        web = spawn(
            [console_script("gunicorn"), "--bind", f"127.0.0.1:{settings.web_port}", "--workers", "2",
             "--worker-class", "gthread", "--threads", "4", "--timeout", "300",
             "--access-logfile", "-", "service.web.app:create_app()"],
            web_log,
            env=env,
            cwd=REPO_ROOT,
        )  # fmt: skip
        processes.append(web)
        worker_log = settings.var_dir / "worker.log"
        processes.append(
            spawn(
                [
                    console_script("rq"),
                    "worker",
                    "--with-scheduler",
                    "--url",
                    settings.redis_url,
                    *QUEUES,
                ],
                worker_log,
                env=env,
                cwd=REPO_ROOT,
            )
        )
        # The sweep re-enqueues items stuck in queued/running (lost events, dead workers).
        processes.append(
            spawn(
                [console_script("rq"), "cron", "--url", settings.redis_url, "service/jobs/cron.py"],
                settings.var_dir / "cron.log",
                env=env,
                cwd=REPO_ROOT,
            )
        )
        wait_for_http(f"{settings.site_url}/healthz", web, web_log)
        # Events Directus fired before the service was up (the demo playlist) are lost: replay the
        # outbox now instead of waiting for the sweep's first pass.
        replay_outbox(service, settings.redis_url)
        pid_file(settings).write_text(
            "\n".join(str(pid) for pid in (os.getpid(), *(p.pid for p in processes)))
        )
    except BaseException:
        shutdown()
        raise

    lines = [
        "",
        "AIDJSets is running.",
        f"  Site and API      {settings.site_url}   (ready: {settings.site_url}/readyz)",
        f"  Directus Studio   {settings.directus_url}/admin",
        f"  Admin             {settings.admin_email} / {settings.admin_password}",
    ]
    if demo:
        lines.append(f"  Demo DJ           {demo['email']} / {demo['password']}")
        lines.append(f"  Demo library      {settings.var_dir / 'demo-library'}")
    lines += [
        f"  Logs              {settings.var_dir}/*.log",
        "Ctrl-C (or `make stop`) stops everything.",
        "",
    ]
    print("\n".join(lines), flush=True)

    if not block:
        return processes
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(1)
        dead = next(p for p in processes if p.poll() is not None)
        log.error("a process of the stack exited (%s); stopping the rest", dead.args[0])
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
    finally:
        shutdown()
    return processes
