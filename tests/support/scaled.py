"""Two of everything on one machine: two Directus instances on one PostgreSQL database and one Redis,
files in one S3 bucket (a real S3-compatible server), nginx sharing requests between the instances
round robin, two web processes behind the same nginx, and two RQ workers.

The service and the workers reach Directus through the proxy, as they would a load balancer; the
Directus hook extension posts to the web processes through the proxy too. Each instance has its own
port, log and config file; cache, rate limits and synchronisation (schema and permission changes)
go through Redis, as in ``docker-compose.yml``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import redis
import requests

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
)
from tests.support.mail import Mailbox, start_smtp
from tests.support.nginx import NGINX, write_nginx_conf
from tests.support.s3 import S3Server, start_s3
from tests.support.stack import TEST_SERVICE_ENV

#: The scaled stack's Redis databases: the service's, and Directus's (cache, limits, synchronisation).
SCALE_REDIS_DB = int(os.environ.get("AIDJ_TEST_SCALE_REDIS_DB", "10"))

# Directus settings for more than one instance (as in docker-compose.yml).
SHARED_DIRECTUS_ENV = {
    "CACHE_ENABLED": "true",
    "CACHE_STORE": "redis",
    "CACHE_AUTO_PURGE": "true",
    "SYNCHRONIZATION_STORE": "redis",
    "RATE_LIMITER_STORE": "redis",
}


@dataclass
class ScaledStack:
    """The running two-of-everything stack and clients for it."""

    settings: StackSettings  # the stack as the service sees it: Directus and the site via the proxy
    instances: list[StackSettings]  # each Directus instance on its own port
    s3: S3Server
    mailbox: Mailbox
    log_dir: Path
    directus: list[subprocess.Popen[bytes] | None] = field(default_factory=list)
    webs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    extra_service_env: dict[str, str] = field(default_factory=dict)
    _cleanups: list[Any] = field(default_factory=list)

    @property
    def redis(self) -> redis.Redis:
        """The service's Redis database."""
        return redis.Redis.from_url(self.settings.redis_url)

    @property
    def service(self) -> DirectusClient:
        """The service account, through the proxy."""
        return DirectusClient(self.settings.directus_url, self.settings.service_token)

    def admin_at(self, instance: int) -> DirectusClient:
        """The admin account on one instance, bypassing the proxy."""
        return DirectusClient(self.instances[instance].directus_url, self.settings.admin_token)

    def service_at(self, instance: int) -> DirectusClient:
        """The service account on one instance, bypassing the proxy."""
        return DirectusClient(self.instances[instance].directus_url, self.settings.service_token)

    def service_env(self) -> dict[str, str]:
        """What the web processes and workers run with."""
        return {**self.settings.service_env(), **TEST_SERVICE_ENV, **self.extra_service_env}

    def kill_directus(self, instance: int) -> None:
        """SIGKILL one Directus instance, as a crashed host would lose it."""
        process = self.directus[instance]
        assert process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, 9)
        process.wait()
        self.directus[instance] = None

    def web_logs(self) -> str:
        """Both web processes' logs."""
        return "".join(p.read_text(errors="replace") for p in self.log_dir.glob("web-*.log"))

    def worker_logs(self) -> str:
        """Both workers' logs."""
        return "".join(p.read_text(errors="replace") for p in self.log_dir.glob("worker-*.log"))

    def close(self) -> None:
        """Stop everything, newest first."""
        for process in [*self.workers, *self.webs]:
            with contextlib.suppress(Exception):
                stop_process(process)
        for process in self.directus:
            if process is not None:
                with contextlib.suppress(Exception):
                    directus.stop(process)
        for cleanup in reversed(self._cleanups):
            with contextlib.suppress(Exception):
                cleanup()


def _nginx_config(folder: Path, listen: dict[str, int], upstreams: dict[str, list[int]]) -> Path:
    """Round robin over each upstream; a dead instance is skipped for idempotent requests."""
    servers = ""
    for name, ports in upstreams.items():
        members = "".join(
            f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=10s;\n" for p in ports
        )
        servers += f"  upstream {name} {{\n{members}  }}\n"
        servers += (
            f"  server {{\n    listen 127.0.0.1:{listen[name]};\n"
            "    client_max_body_size 2g;\n"
            "    client_body_buffer_size 1m;\n"
            "    proxy_http_version 1.1;\n"
            '    proxy_set_header Connection "";\n'
            "    proxy_set_header Host $http_host;\n"
            "    proxy_set_header X-Forwarded-For $remote_addr;\n"
            "    proxy_read_timeout 120s;\n"
            "    proxy_next_upstream error timeout http_502 http_503;\n"
            "    add_header X-Upstream $upstream_addr always;\n"
            f"    location / {{ proxy_pass http://{name}; }}\n  }}\n"
        )
    return write_nginx_conf(folder, servers)


def build_scaled_stack(extra_service_env: dict[str, str] | None = None) -> ScaledStack:
    """Start the scaled stack on PostgreSQL; the caller must call ``close()``."""
    if not Path(NGINX).exists():
        raise RuntimeError("nginx is not installed: scripts/ensure-system-packages installs it")
    var_dir = Path(tempfile.mkdtemp(prefix="aidj-scaled-"))
    var_dir.chmod(0o711)  # nginx's workers may run as another user: they pass through to nginx/
    log_dir = var_dir / "logs"
    log_dir.mkdir()
    cleanups: list[Any] = [lambda: shutil.rmtree(var_dir, ignore_errors=True)]
    try:
        s3 = start_s3()
        cleanups.append(s3.stop)
        ports = {name: free_port() for name in ("directus", "web", "smtp")}
        directus_redis = f"redis://127.0.0.1:6379/{SCALE_REDIS_DB - 1}"
        environ = {
            "AIDJ_VAR_DIR": str(var_dir / "shared"),
            "AIDJ_DB": "postgres",
            "PGDATABASE": f"aidj_scaled_{secrets.token_hex(4)}",
            "REDIS_URL": f"redis://127.0.0.1:6379/{SCALE_REDIS_DB}",
            "DIRECTUS_URL": f"http://127.0.0.1:{ports['directus']}",
            "WEB_PORT": str(ports["web"]),
            "SMTP_PORT": str(ports["smtp"]),
            **s3.environ(),
        }
        settings = load_settings(
            "test", environ=environ, extra_env={**SHARED_DIRECTUS_ENV, "REDIS": directus_redis}
        )
        for url in (settings.redis_url, directus_redis):
            redis.Redis.from_url(url).flushdb()
            cleanups.append(lambda url=url: redis.Redis.from_url(url).flushdb())
        controller, mailbox = start_smtp(settings.smtp_port)
        cleanups.append(controller.stop)
        create_database(settings.database, drop_first=True)
        cleanups.append(lambda: drop_database(settings.database))
        instances = [
            replace(
                settings,
                directus_port=free_port(),
                var_dir=var_dir / f"directus-{n}",
                directus_url_override=None,
            )
            for n in range(2)
        ]
        stack = ScaledStack(
            settings, instances, s3, mailbox, log_dir,
            extra_service_env=dict(extra_service_env or {}), _cleanups=cleanups,
        )  # fmt: skip
    except BaseException:
        for cleanup in reversed(cleanups):
            with contextlib.suppress(Exception):
                cleanup()
        raise
    try:
        stack.directus.append(directus.provision(instances[0]))
        second = directus.start(instances[1])
        stack.directus.append(second)
        directus.wait_until_ready(instances[1], second)

        web_ports = [free_port(), free_port()]
        proxy_dir = var_dir / "nginx"
        proxy_dir.mkdir(mode=0o755)
        config = _nginx_config(
            proxy_dir,
            {"directus": ports["directus"], "web": ports["web"]},
            {"directus": [i.directus_port for i in instances], "web": web_ports},
        )
        proxy = subprocess.Popen([NGINX, "-c", str(config), "-p", str(proxy_dir)])
        cleanups.append(lambda: (proxy.terminate(), proxy.wait(timeout=10)))
        _wait_for(f"{settings.directus_url}/server/ping", proxy, proxy_dir / "error.log")

        for n, port in enumerate(web_ports):
            web = spawn(
                [console_script("gunicorn"), "--config", GUNICORN_CONFIG,
                 "--bind", f"127.0.0.1:{port}", "service.web.app:create_app()"],
                log_dir / f"web-{n}.log", env=stack.service_env(), cwd=REPO_ROOT,
            )  # fmt: skip
            stack.webs.append(web)
            wait_for_http(f"http://127.0.0.1:{port}/healthz", web, log_dir / f"web-{n}.log", 30)
        for n in range(2):
            worker = spawn(
                [console_script("rq"), "worker", "--with-scheduler", "--url", settings.redis_url,
                 "--job-monitoring-interval", "1", *QUEUES],
                log_dir / f"worker-{n}.log", env=stack.service_env(), cwd=REPO_ROOT,
            )  # fmt: skip
            stack.workers.append(worker)
    except BaseException:
        stack.close()
        raise
    return stack


def _wait_for(url: str, process: subprocess.Popen[bytes], error_log: Path) -> None:
    deadline = time.monotonic() + 20
    while True:
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, timeout=2).ok:
                return
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(error_log.read_text(errors="replace") if error_log.exists() else url)
        time.sleep(0.2)
