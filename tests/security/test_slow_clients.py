"""Slow clients cannot take the site down: the production proxy (deploy/nginx) reads every request
whole before the site's threads see it. Runs the real nginx in front of the real gunicorn."""

from __future__ import annotations

import socket
import string
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from service.stack.settings import REPO_ROOT, free_port
from tests.support.nginx import NGINX, write_nginx_conf

pytestmark = pytest.mark.stack

TEMPLATE = REPO_ROOT / "deploy" / "nginx" / "aidjsets.conf.template"


def nginx_config(folder: Path, listen_port: int, web_port: int, directus_port: int) -> Path:
    """A whole nginx.conf around the committed template, as the nginx image would fill it in."""
    site = string.Template(TEMPLATE.read_text()).safe_substitute(
        LISTEN_PORT=str(listen_port),
        SITE_HOST="localhost",
        STUDIO_HOST="studio.localhost",
        WEB_UPSTREAM=f"127.0.0.1:{web_port}",
        DIRECTUS_UPSTREAM=f"127.0.0.1:{directus_port}",
    )
    (folder / "aidjsets.conf").write_text(site)
    return write_nginx_conf(folder, f"  include {folder}/aidjsets.conf;\n")


@pytest.fixture(scope="module")
def proxy(stack, service_processes, tmp_path_factory) -> Iterator[str]:
    """nginx with the production template in front of the test stack's web service."""
    if not Path(NGINX).exists():
        pytest.fail("nginx is not installed: scripts/ensure-system-packages installs it")
    folder = tmp_path_factory.mktemp("nginx")
    port = free_port()
    config = nginx_config(folder, port, stack.settings.web_port, stack.settings.directus_port)
    process = subprocess.Popen([NGINX, "-c", str(config), "-p", str(folder)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            if requests.get(f"{url}/healthz", timeout=2).ok:
                break
        except requests.RequestException:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise RuntimeError((folder / "error.log").read_text(errors="replace"))
        time.sleep(0.2)
    yield url
    process.terminate()
    process.wait(timeout=10)


def _slow_clients(port: int, count: int) -> list[socket.socket]:
    """Connections that declare a large body (or long headers) and then send almost nothing."""
    sockets = []
    for n in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        if n % 2:
            sock.sendall(
                b"POST /login HTTP/1.1\r\nHost: localhost\r\nContent-Length: 50000000\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n\r\nemail=a"
            )
        else:
            sock.sendall(b"POST /signup HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        sockets.append(sock)
    return sockets


def test_slow_clients_do_not_stop_the_site_from_answering(proxy) -> None:
    port = int(proxy.rsplit(":", 1)[1])
    # More slow clients than the site has threads (2 workers × 8 threads by default).
    sockets = _slow_clients(port, 40)
    try:
        time.sleep(1)
        started = time.monotonic()
        answer = requests.get(f"{proxy}/login", timeout=5)
        assert answer.status_code == 200
        assert time.monotonic() - started < 3
        assert requests.get(f"{proxy}/healthz", timeout=5).ok
    finally:
        for sock in sockets:
            sock.close()


def test_the_proxy_passes_the_site_through_with_a_request_id(proxy) -> None:
    answer = requests.get(f"{proxy}/login", timeout=5)
    assert answer.ok
    assert "Content-Security-Policy" in answer.headers
    assert len(answer.headers["X-Request-Id"]) == 32  # nginx's $request_id, used by the site


def test_the_proxy_never_forwards_metrics(proxy) -> None:
    assert requests.get(f"{proxy}/metrics", timeout=5).status_code == 404
