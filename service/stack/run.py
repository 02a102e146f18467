"""``make run``: the whole stack on one machine, kept running until Ctrl-C or ``aidj stop``."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import redis

from service.integrations.directus import DirectusClient
from service.jobs.queue import AUDIO_QUEUE, QUEUE_NAME
from service.jobs.sweep import sweep
from service.legal import publish_legal_documents
from service.stack import directus, services
from service.stack.demo import seed_catalogue, seed_demo
from service.stack.processes import console_script, spawn, wait_for_http
from service.stack.settings import GUNICORN_CONFIG, REPO_ROOT, StackSettings
from service.stack.supervisor import Supervisor

log = logging.getLogger(__name__)


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


def _mail_catcher_available() -> bool:
    try:
        import aiosmtpd  # noqa: F401  (a development dependency)
    except ImportError:
        return False
    return True


def run_stack(settings: StackSettings, *, seed: bool = True, block: bool = True) -> Supervisor:
    """Start Redis (if none answers), a mail catcher, Directus, the web service, a worker and the
    sweep's cron; seed the demo; keep them running until Ctrl-C or ``aidj stop``."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    supervisor = Supervisor()
    env = settings.service_env()

    def service_process(name: str, command: list[str]) -> Callable[[], subprocess.Popen[bytes]]:
        return lambda: spawn(command, settings.var_dir / f"{name}.log", env=env, cwd=REPO_ROOT)

    def write_pid_file() -> None:
        pid_file(settings).write_text(
            "\n".join(str(pid) for pid in (os.getpid(), *(p.pid for p in supervisor.processes)))
        )

    mail_dir = settings.var_dir / "mail"
    try:
        directus.install()
        redis_process = services.start_redis(settings.redis_url, settings.var_dir / "redis")
        if redis_process:
            supervisor.adopt(
                "redis",
                redis_process,
                lambda: (
                    services.start_redis(settings.redis_url, settings.var_dir / "redis")
                    or redis_process
                ),
            )
        if _mail_catcher_available():
            supervisor.add(
                "mail catcher",
                service_process(
                    "mail",
                    [sys.executable, "-m", "service.stack.mailcatcher",
                     "--port", str(settings.smtp_port), "--dir", str(mail_dir)],
                ),
            )  # fmt: skip
        else:
            log.warning("aiosmtpd is not installed: mail the stack sends is not caught")
        if settings.database.client == "pg":
            services.create_database(settings.database)
        supervisor.adopt("directus", directus.provision(settings), lambda: directus.start(settings))
        service = DirectusClient(settings.directus_url, settings.service_token)
        publish_legal_documents(service)  # the privacy policy and terms the sign-up page links to
        demo = seed_demo(service, settings.var_dir / "demo-library") if seed else None
        if seed:
            seed_catalogue(DirectusClient(settings.directus_url, settings.admin_token))

        supervisor.add(
            "web",
            service_process(
                "web",
                [console_script("gunicorn"), "--config", GUNICORN_CONFIG,
                 "--bind", f"127.0.0.1:{settings.web_port}", "service.web.app:create_app()"],
            ),
        )  # fmt: skip
        supervisor.add(
            "worker",
            service_process(
                "worker",
                [console_script("rq"), "worker", "--with-scheduler", "--url", settings.redis_url,
                 QUEUE_NAME],
            ),
        )  # fmt: skip
        # Analysis and rendering take minutes of CPU: their own worker (and its scheduler for the
        # audio queue's retries), so a set is never kept waiting behind them.
        supervisor.add(
            "audio-worker",
            service_process(
                "audio-worker",
                [console_script("rq"), "worker", "--with-scheduler", "--url", settings.redis_url,
                 AUDIO_QUEUE],
            ),
        )  # fmt: skip
        # The sweep re-enqueues items stuck in queued/running (lost events, dead workers).
        supervisor.add(
            "cron",
            service_process(
                "cron",
                [console_script("rq"), "cron", "--url", settings.redis_url, "service/jobs/cron.py"],
            ),
        )
        web = next(c.process for c in supervisor.children if c.name == "web")
        wait_for_http(f"{settings.site_url}/healthz", web, settings.var_dir / "web.log")
        # Events Directus fired before the service was up (the demo playlist) are lost: replay the
        # outbox now instead of waiting for the sweep's first pass.
        replay_outbox(service, settings.redis_url)
        write_pid_file()
    except BaseException:
        supervisor.stop_all()
        pid_file(settings).unlink(missing_ok=True)
        raise

    lines = [
        "",
        "AIDJSets is running.",
        f"  Site and API      {settings.site_url}   (ready: {settings.site_url}/readyz)",
        f"  Mail (caught)     {settings.site_url}/dev/mail   (files: {mail_dir})",
        f"  Directus Studio   {settings.directus_url}/admin",
        f"  Admin             {settings.admin_email} / {settings.admin_password}",
    ]
    if demo:
        lines.append(f"  Demo DJ           {demo['email']} / {demo['password']}")
        lines.append(f"  Demo library      {settings.var_dir / 'demo-library'}")
        lines.append(
            f"  Buy tokens        aidj paddle purchase --email {demo['email']} --price pri_demo_starter"
        )
    lines += [
        f"  Logs              {settings.var_dir}/*.log",
        "Ctrl-C (or `make stop`) stops everything.",
        "",
    ]
    print("\n".join(lines), flush=True)

    if not block:
        return supervisor
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            time.sleep(1)
            if supervisor.check():
                write_pid_file()
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
    finally:
        supervisor.stop_all()
        pid_file(settings).unlink(missing_ok=True)
    return supervisor
