"""The isolated test stack: a fresh database, its own Redis database, Directus on a free port.

Built once per test session on first use and torn down at the end, whether tests pass or fail.
PostgreSQL on 127.0.0.1:5432 is used when it answers; otherwise SQLite with a warning, except in CI
(``CI`` set), where a missing PostgreSQL is an error: the schema tests need it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from service.integrations.directus import DirectusClient
from service.jobs.queue import QUEUES
from service.stack import directus
from service.stack.processes import console_script, spawn, stop_process, wait_for_http
from service.stack.services import create_database, drop_database
from service.stack.settings import (
    GUNICORN_CONFIG,
    REPO_ROOT,
    StackSettings,
    free_port,
    load_settings,
    postgres_reachable,
)
from tests.support.mail import Mailbox, start_smtp

log = logging.getLogger(__name__)

TEST_REDIS_DB = int(os.environ.get("AIDJ_TEST_REDIS_DB", "13"))


@dataclass
class TestStack:
    """A running test stack and clients for it."""

    settings: StackSettings
    admin: DirectusClient
    service: DirectusClient
    mailbox: Mailbox
    _cleanups: list[Any] = field(default_factory=list)

    @property
    def redis(self) -> redis.Redis:
        """The stack's own Redis database."""
        return redis.Redis.from_url(self.settings.redis_url)

    def close(self) -> None:
        """Stop everything the stack started, newest first."""
        for cleanup in reversed(self._cleanups):
            with contextlib.suppress(Exception):
                cleanup()
        self._cleanups.clear()


def build_stack() -> TestStack:
    """Start a fresh stack; the caller must call ``close()``."""
    wanted = os.environ.get("AIDJ_TEST_DB", "postgres")
    use_pg = wanted == "postgres" and postgres_reachable("127.0.0.1", 5432)
    if wanted == "postgres" and not use_pg:
        if os.environ.get("CI"):
            # CI must run the schema drift and snapshot tests, which only PostgreSQL can judge.
            raise RuntimeError("CI needs PostgreSQL on 127.0.0.1:5432, and it does not answer")
        log.warning("PostgreSQL does not answer on 127.0.0.1:5432: the test stack uses SQLite")
    var_dir = Path(tempfile.mkdtemp(prefix="aidj-test-"))
    environ = {
        "AIDJ_VAR_DIR": str(var_dir),
        "AIDJ_DB": "postgres" if use_pg else "sqlite",
        "PGDATABASE": f"aidj_test_{secrets.token_hex(4)}",
        "REDIS_URL": f"redis://127.0.0.1:6379/{TEST_REDIS_DB}",
        "DIRECTUS_PORT": str(free_port()),
        "WEB_PORT": str(free_port()),
        "SMTP_PORT": str(free_port()),
    }
    settings = load_settings("test", environ=environ)
    stack_cleanups: list[Any] = [lambda: shutil.rmtree(var_dir, ignore_errors=True)]
    try:
        controller, mailbox = start_smtp(settings.smtp_port)
        stack_cleanups.append(controller.stop)
        redis.Redis.from_url(settings.redis_url).flushdb()
        stack_cleanups.append(lambda: redis.Redis.from_url(settings.redis_url).flushdb())
        if use_pg:
            create_database(settings.database, drop_first=True)
            stack_cleanups.append(lambda: drop_database(settings.database))
        process = directus.provision(settings)
        stack_cleanups.append(lambda: directus.stop(process))
        admin = DirectusClient(settings.directus_url, settings.admin_token)
        service = DirectusClient(settings.directus_url, settings.service_token)
    except BaseException:
        for cleanup in reversed(stack_cleanups):
            with contextlib.suppress(Exception):
                cleanup()
        raise
    return TestStack(settings, admin, service, mailbox, stack_cleanups)


# --- the service's own processes (opt-in: the `service_processes` fixture) ------------------------

# Short staleness and heartbeat intervals so recovery happens within a test's patience.
TEST_SERVICE_ENV = {
    "AI_PROVIDER": "local",
    "SWEEP_STALE_S": "2",
    "SWEEP_LOST_S": "1",
    "SWEEP_DEAD_WORKER_S": "4",
    "JOB_LOCK_TTL_S": "3",
    "SWEEP_INTERVAL_S": "60",
}


@dataclass
class ServiceProcesses:
    """The Flask service (gunicorn) and RQ workers, run as real subprocesses against a test stack."""

    stack: TestStack
    log_dir: Path
    web: subprocess.Popen[bytes] | None = None
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """Where the service answers (the SERVICE_URL the Directus hook posts to)."""
        return self.stack.settings.site_url

    def env(self) -> dict[str, str]:
        """The environment the service processes run with."""
        return {
            **self.stack.settings.service_env(),
            **TEST_SERVICE_ENV,
            **self.extra_env,
        }

    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen[bytes]:
        # Its own process group: killpg reaches the worker's work horse too.
        return spawn(command, self.log_dir / f"{name}.log", env=self.env(), cwd=REPO_ROOT)

    def start_web(self, timeout_s: float = 30) -> subprocess.Popen[bytes]:
        """Start gunicorn on the stack's web port and wait for /healthz."""
        if self.web is not None and self.web.poll() is None:
            return self.web
        self.web = self._spawn(
            "web",
            [console_script("gunicorn"), "--config", GUNICORN_CONFIG,
             "--bind", f"127.0.0.1:{self.stack.settings.web_port}", "service.web.app:create_app()"],
        )  # fmt: skip
        wait_for_http(f"{self.url}/healthz", self.web, self.log_dir / "web.log", timeout_s)
        return self.web

    def stop_web(self) -> None:
        """Stop the web service (the hook's deliveries then fail)."""
        if self.web is not None:
            stop_process(self.web)
            self.web = None

    def start_worker(self) -> subprocess.Popen[bytes]:
        """Start one `rq worker --with-scheduler` on every queue that heartbeats every second."""
        worker = self._spawn(
            f"worker-{len(self.workers)}",
            [console_script("rq"), "worker", "--with-scheduler", "--url", self.stack.settings.redis_url,
             "--job-monitoring-interval", "1", "--logging_level", "INFO", *QUEUES],
        )  # fmt: skip
        self.workers.append(worker)
        return worker

    def kill_worker(self, worker: subprocess.Popen[bytes]) -> None:
        """SIGKILL a worker and its work horse, as a crash or the OOM killer would.

        RQ's work horse puts itself in a process group of its own (``os.setpgrp``), so killing the
        worker's group is not enough: its children's groups are killed too.
        """
        groups = {worker.pid, *_children(worker.pid)}
        for group in groups:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        worker.wait()

    def stop_workers(self) -> None:
        """Stop every worker started here."""
        for worker in self.workers:
            stop_process(worker)
        self.workers.clear()

    def close(self) -> None:
        """Stop everything started here."""
        self.stop_workers()
        self.stop_web()


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError, ValueError):
            # /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may hold spaces, so split after ")".
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def start_service_processes(stack: TestStack, workers: int = 1) -> ServiceProcesses:
    """Start the web service and ``workers`` RQ workers for ``stack``; the caller must close()."""
    log_dir = stack.settings.var_dir / "service-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    processes = ServiceProcesses(stack, log_dir)
    try:
        processes.start_web()
        for _ in range(workers):
            processes.start_worker()
    except BaseException:
        processes.close()
        raise
    return processes
